"""The export formats: CSV, JSON, JSON Lines and Markdown writers over the service's
records, and the progress shown while a long export runs in a terminal."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable, Mapping
from datetime import datetime, tzinfo
from typing import Any, Protocol, TextIO

from plugins.common.files import csv_cell, md_cell
from plugins.export.service import (
    EVENT_FIELDS,
    INCIDENT_FIELDS,
    Batch,
    EventRow,
    Exported,
    ExportService,
    IncidentRow,
    Selection,
)

Record = dict[str, Any]
FORMATS = ("csv", "json", "jsonl", "md")
CSV_COLUMNS = (*INCIDENT_FIELDS, *(f"event_{f}" for f in EVENT_FIELDS))
Progress = Callable[[int], None]


class Writer(Protocol):
    def begin(self) -> None: ...
    def write(self, batch: Batch) -> None: ...
    def end(self) -> None: ...


def record(incident: IncidentRow, events: list[EventRow]) -> Record:
    """An incident as the JSON formats write it: its fields, then its `events`."""
    rec: Record = dict(zip(INCIDENT_FIELDS, incident, strict=True))
    rec["events"] = [dict(zip(EVENT_FIELDS, e, strict=True)) for e in events]
    return rec


class CsvWriter:
    """One row per event (an incident's columns repeat on each of its events). An
    incident's cells are encoded once, as the start of each of its events' lines."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._csv = csv.writer(out, lineterminator="\r\n")
        self._start = io.StringIO()
        self._starts = csv.writer(self._start, lineterminator=",")

    def begin(self) -> None:
        self._csv.writerow(CSV_COLUMNS)

    def write(self, batch: Batch) -> None:
        write, writerow = self._out.write, self._csv.writerow
        for incident, events in batch:
            start = self._line_start(incident)
            for event in events or (_NO_EVENT,):
                write(start)
                writerow(map(csv_cell, event))

    def _line_start(self, incident: IncidentRow) -> str:
        """The incident's cells, each followed by the delimiter."""
        self._start.seek(0)
        self._start.truncate()
        self._starts.writerow(map(csv_cell, incident))
        return self._start.getvalue()

    def end(self) -> None:
        pass


_NO_EVENT = (None,) * len(EVENT_FIELDS)


class JsonWriter:
    """One JSON object: `incidents`, an array of incident objects, each with its `events`
    array, then `change_failure` (metrics.change_views.change_json)."""

    def __init__(self, out: TextIO, change_failure: Mapping[str, Any]) -> None:
        self._out = out
        self._first = True
        self._change_failure = change_failure

    def begin(self) -> None:
        self._out.write('{"incidents": [')

    def write(self, batch: Batch) -> None:
        self._out.write("\n" if self._first else ",\n")
        self._first = False
        self._out.write(",\n".join(_json(record(*item)) for item in batch))

    def end(self) -> None:
        section = json.dumps(self._change_failure, ensure_ascii=False)
        self._out.write(f'\n],\n"change_failure": {section}}}\n')


class JsonlWriter:
    """One incident object per line."""

    def __init__(self, out: TextIO) -> None:
        self._out = out

    def begin(self) -> None:
        pass

    def write(self, batch: Batch) -> None:
        self._out.writelines(_json(record(*item)) + "\n" for item in batch)

    def end(self) -> None:
        pass


_json = json.JSONEncoder(ensure_ascii=False).encode


class MarkdownWriter:
    """A section per incident: its fields as a list, then its events as a table. For
    people, so times are in the bot's zone, to the second, each with the abbreviation
    of its zone (the machine formats keep full-precision UTC)."""

    def __init__(self, out: TextIO, tz: tzinfo) -> None:
        self._out = out
        self._tz = tz

    def begin(self) -> None:
        self._out.write(
            f"# deployday incident export\n\nTimes are {self._tz} time, to the second, "
            "each with its zone's abbreviation.\n"
        )

    def write(self, batch: Batch) -> None:
        w = self._out.write
        local = self._local
        for incident, events in batch:
            number, service, summary = incident[:3]
            w(f"\n## #{number} {md_cell(service)}: {md_cell(summary)}\n\n")
            for f, value in zip(INCIDENT_FIELDS[3:], incident[3:], strict=True):
                cell = local(value) if f in TIME_FIELDS else md_cell(value)
                w(f"- {f}: {cell}".rstrip() + "\n")
            w(_EVENT_TABLE_HEAD)
            for at, *rest in events:
                w(f"| {local(at)} | " + " | ".join(map(md_cell, rest)) + " |\n")

    def _local(self, value: str | None) -> str:
        if value is None:
            return ""
        local = datetime.fromisoformat(value).astimezone(self._tz)
        return f"{local:%Y-%m-%d %H:%M:%S} {local.tzname()}"

    def end(self) -> None:
        pass


TIME_FIELDS = frozenset({"reported_at", "acknowledged_at", "fixed_at", "updated_at"})
_EVENT_TABLE_HEAD = "\n| " + " | ".join(EVENT_FIELDS) + " |\n|" + "---|" * len(EVENT_FIELDS) + "\n"
MACHINE_WRITERS: dict[str, Callable[[TextIO], Writer]] = {
    "csv": CsvWriter,
    "jsonl": JsonlWriter,
}


async def write_export(
    service: ExportService,
    fmt: str,
    out: TextIO,
    sel: Selection,
    tz: tzinfo,
    progress: Progress | None = None,
    change_failure: Mapping[str, Any] | None = None,
) -> Exported:
    """Stream the selection into `out` in format `fmt` (Markdown times in zone `tz`); JSON
    ends with the `change_failure` section."""
    writer: Writer
    if fmt == "md":
        writer = MarkdownWriter(out, tz)
    elif fmt == "json":
        writer = JsonWriter(out, change_failure or {})
    else:
        writer = MACHINE_WRITERS[fmt](out)
    writer.begin()
    done = [0, 0]  # incidents, events

    def visit(batch: Batch) -> None:
        writer.write(batch)
        done[0] += len(batch)
        done[1] += sum(len(events) for _, events in batch)
        if progress is not None:
            progress(done[0])

    await service.each(sel, visit)
    writer.end()
    return Exported(*done)


class TerminalProgress:
    """`\\r`-redrawn progress on stderr, only when it is a terminal."""

    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.total = max(total, 1)
        self.stream = stream or sys.stderr
        self._shown = -1

    @property
    def wanted(self) -> bool:
        return self.stream.isatty()

    def __call__(self, done: int) -> None:
        percent = done * 100 // self.total
        if percent != self._shown:
            self._shown = percent
            self.stream.write(f"\rexporting: {done}/{self.total} incidents ({percent}%)")
            self.stream.flush()

    def close(self) -> None:
        if self._shown >= 0:
            self.stream.write("\n")
            self.stream.flush()
