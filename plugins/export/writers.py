"""The export formats: CSV, JSON, JSON Lines and Markdown writers over the service's
records, and the progress shown while a long export runs in a terminal."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Mapping
from datetime import datetime, tzinfo
from typing import Any, Protocol, TextIO

from plugins.common.files import csv_cell, md_cell
from plugins.export.service import (
    EVENT_FIELDS,
    INCIDENT_FIELDS,
    Exported,
    ExportService,
    Record,
    Selection,
)

FORMATS = ("csv", "json", "jsonl", "md")
CSV_COLUMNS = (*INCIDENT_FIELDS, *(f"event_{f}" for f in EVENT_FIELDS))
Progress = Callable[[int], None]


class Writer(Protocol):
    def begin(self) -> None: ...
    def write(self, rec: Record) -> None: ...
    def end(self) -> None: ...


class CsvWriter:
    """One row per event (an incident's columns repeat on each of its events)."""

    def __init__(self, out: TextIO) -> None:
        self._csv = csv.writer(out, lineterminator="\r\n")

    def begin(self) -> None:
        self._csv.writerow(CSV_COLUMNS)

    def write(self, rec: Record) -> None:
        head = [csv_cell(rec[f]) for f in INCIDENT_FIELDS]
        for e in rec["events"] or [dict.fromkeys(EVENT_FIELDS)]:
            self._csv.writerow([*head, *(csv_cell(e[f]) for f in EVENT_FIELDS)])

    def end(self) -> None:
        pass


class JsonWriter:
    """One JSON object: `incidents`, an array of incident objects, each with its `events`
    array, then `change_failure` (metrics.change_views.change_json)."""

    def __init__(self, out: TextIO, change_failure: Mapping[str, Any]) -> None:
        self._out = out
        self._first = True
        self._change_failure = change_failure

    def begin(self) -> None:
        self._out.write('{"incidents": [')

    def write(self, rec: Record) -> None:
        self._out.write("\n" if self._first else ",\n")
        self._first = False
        self._out.write(json.dumps(rec, ensure_ascii=False))

    def end(self) -> None:
        section = json.dumps(self._change_failure, ensure_ascii=False)
        self._out.write(f'\n],\n"change_failure": {section}}}\n')


class JsonlWriter:
    """One incident object per line."""

    def __init__(self, out: TextIO) -> None:
        self._out = out

    def begin(self) -> None:
        pass

    def write(self, rec: Record) -> None:
        self._out.write(json.dumps(rec, ensure_ascii=False))
        self._out.write("\n")

    def end(self) -> None:
        pass


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

    def write(self, rec: Record) -> None:
        w = self._out.write
        w(f"\n## #{rec['number']} {md_cell(rec['service'])}: {md_cell(rec['summary'])}\n\n")
        for f in INCIDENT_FIELDS[3:]:
            w(f"- {f}: {self._cell(f, rec[f])}".rstrip() + "\n")
        w("\n| " + " | ".join(EVENT_FIELDS) + " |\n|" + "---|" * len(EVENT_FIELDS) + "\n")
        for e in rec["events"]:
            w("| " + " | ".join(self._cell(f, e[f]) for f in EVENT_FIELDS) + " |\n")

    def _cell(self, field: str, value: object) -> str:
        if field in TIME_FIELDS and isinstance(value, str):
            local = datetime.fromisoformat(value).astimezone(self._tz)
            return f"{local:%Y-%m-%d %H:%M:%S} {local.tzname()}"
        return md_cell(value)

    def end(self) -> None:
        pass


TIME_FIELDS = frozenset({"reported_at", "acknowledged_at", "fixed_at", "updated_at", "at"})
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

    def visit(rec: Record) -> None:
        writer.write(rec)
        done[0] += 1
        done[1] += len(rec["events"])
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
