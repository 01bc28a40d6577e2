"""Stage 3: a large log (100k incidents, ~900k events by default) and the commands that
read all of it: `!mttr`, `!incidents open`, `!digest` of the busiest deploy and `!export`
in every format, beside the sqlite3 command-line tool's CSV of the same rows.

Each command runs in a fresh child process (`python -m bench.scale CONFIG RUNS WARMUP
COMMAND…`): the whole bot on a memory transport, the command handed to its dispatcher
as a chat message from an admin, so the figure is the command's own work without the
network. The child reports every run's time and its peak RSS (getrusage).
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bench.data import BUSIEST, SERVICES, generate
from bench.procfs import memory_mib
from bench.report import Figure, median, skipped

FORMATS = ("csv", "json", "jsonl", "md")
ADMIN = "bencher"
QUERY_TARGET_MS = 50.0
MTTR_DEPLOY_TARGET_MS = 20.0
DIGEST_TARGET_S = 0.5
DIGEST_TARGET_MIB = 120.0  # peak RSS of the whole bot while it writes the digest
EXPORT_SHARE = 0.5  # of the sqlite3 CLI's rate
FLAT_MIB = 20.0  # the whole log may take this much more memory than the busiest deploy
FLOOR_SQL = """
SELECT i.number, i.service, i.summary, i.severity, i.environment, i.status,
       d.name AS deploy, r.name AS reporter, o.name AS owner, i.duplicate_of,
       i.created_at AS reported_at, i.updated_at, i.source_network, i.source_room,
       e.at AS event_at, e.kind AS event_kind, a.name AS event_actor,
       e.detail AS event_detail, e.severity AS event_severity, t.name AS event_target,
       e.other_number AS event_other_number, e.network AS event_network, e.room AS event_room
FROM incidents i
JOIN people r ON r.id = i.reporter_id
LEFT JOIN people o ON o.id = i.owner_id
LEFT JOIN deploys d ON d.id = i.deploy_id
LEFT JOIN incident_events e ON e.incident_id = i.id
LEFT JOIN people a ON a.id = e.actor_id
LEFT JOIN people t ON t.id = e.target_id
{where}
ORDER BY i.number, e.at, e.id;
"""


@dataclass(frozen=True)
class Measured:
    """What a child reported for one command."""

    seconds: list[float]
    peak_rss_mib: float
    reply: str

    @property
    def median_s(self) -> float:
        return median(self.seconds)


# --- the child: one command, timed ----------------------------------------------------------


async def _time_command(config_path: Path, runs: int, warmup: int, text: str) -> dict[str, Any]:
    from bot.app import App
    from bot.clock import SystemClock
    from bot.devtools.harness import MemoryTransport
    from bot.loading import load_config
    from bot.messages import Message, Room, Sender

    transport = MemoryTransport("bench", ["#bench"])
    app = App(load_config(config_path), [transport], clock=SystemClock())
    await app.start()
    seconds: list[float] = []
    message = Message("bench", Room("#bench", False), Sender(ADMIN, ADMIN), text)
    try:
        for i in range(warmup + runs):
            started = time.perf_counter()
            await app.dispatcher.handle(message)
            if i >= warmup:
                seconds.append(time.perf_counter() - started)
    finally:
        await app.stop()
    reply = transport.sent[-1].text if transport.sent else ""
    return {"seconds": seconds, "peak_rss_mib": memory_mib(field="VmHWM"), "reply": reply}


def _child(config: Path, runs: int, warmup: int, text: str, expect: str) -> Measured:
    """Run `text` in a fresh process; its last answer must match the regex `expect`."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.scale", str(config), str(runs), str(warmup), text],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{text!r} failed in its child process:\n{done.stderr[-3000:]}")
    measured = Measured(**json.loads(done.stdout))
    if not re.search(expect, measured.reply):
        raise RuntimeError(f"unexpected answer to {text!r}: {measured.reply[:300]!r}")
    return measured


# --- the floor: the sqlite3 command-line tool -----------------------------------------------


def _sqlite3_csv(binary: str, db: Path, out: Path, deploy_id: int | None) -> tuple[float, int]:
    """(seconds, rows) of `sqlite3 -csv` writing the export's rows to the file `out`."""
    where = f"WHERE i.deploy_id = {deploy_id}" if deploy_id is not None else ""
    with open(out, "wb") as sink:
        started = time.perf_counter()
        subprocess.run(
            [binary, "-readonly", "-csv", "-header", str(db), FLOOR_SQL.format(where=where)],
            stdout=sink,
            check=True,
        )
        elapsed = time.perf_counter() - started
    with open(out, "rb") as f:
        rows = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b"")) - 1
    out.unlink()
    return elapsed, rows


# --- the parent ------------------------------------------------------------------------------


async def _migrate(config: Path) -> None:
    from bot.app import App
    from bot.loading import load_config

    app = App(load_config(config), [])
    try:
        await app.prepare_store()
    finally:
        await app.store.dispose()


def _written(reply: str, beside: Path) -> Path | None:
    """The file a command wrote: its path, or (said in a channel, where the bot names only
    the file) its name in the digests/ or exports/ directory beside the database."""
    found = re.search(r"(\S+\.(?:csv|jsonl|json|md))\b", reply)
    if found is None:
        return None
    named = Path(found[1])
    if named.is_absolute():
        return named
    return next(
        (d / named for d in (beside / "digests", beside / "exports") if (d / named).exists()), None
    )


def _events(reply: str) -> int:
    found = re.search(r"\(([\d,]+) events?\)", reply)
    if found is None:
        raise RuntimeError(f"cannot read the event count from {reply!r}")
    return int(found[1].replace(",", ""))


def _cleanup(reply: str, beside: Path) -> float:
    """Delete what a command wrote (with earlier runs' files); returns its size in MiB."""
    path = _written(reply, beside)
    if path is None or not path.exists():
        return 0.0
    size = path.stat().st_size / 2**20
    shutil.rmtree(path.parent)  # the bot's digests/ or exports/ beside the database
    return size


def run(work: Path, incidents: int, runs: int, whole_log: bool) -> list[Figure]:
    """Generate the log, then time every command; `whole_log` adds one export of the
    whole log per format (for flat memory at ten times the rows)."""
    work.mkdir(parents=True, exist_ok=True)
    db = work / "scale.sqlite3"
    config = work / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "database": f"sqlite:///{db}",
                "admins": [f"{ADMIN}@bench"],
                "rate_limit": {"burst": 1000, "per_minute": 6000},
            }
        )
    )
    asyncio.run(_migrate(config))
    started = time.perf_counter()
    made, events = generate(db, incidents)
    stage = f"scale: {made:,} incidents, {events:,} events"
    print(f"bench: generated in {time.perf_counter() - started:.1f} s", file=sys.stderr)

    figures: list[Figure] = []
    idle = _child(config, 0, 0, "", "")
    query_runs = max(runs, 10)
    for text, expect, limit_ms in (
        (f"!mttr deploy {BUSIEST}", "MTTR for", MTTR_DEPLOY_TARGET_MS),
        (f"!mttr service {SERVICES[0]}", "MTTR for", QUERY_TARGET_MS),
        ("!incidents open", "open incident", QUERY_TARGET_MS),
    ):
        m = _child(config, query_runs, 1, text, expect)
        first = m.reply.splitlines()[0] if m.reply else ""
        figures.append(
            Figure(
                stage,
                text,
                "ms",
                [s * 1000 for s in m.seconds],
                reference=f"peak RSS {m.peak_rss_mib:.0f} MiB; {first[:40]}",
                target=f"< {limit_ms:.0f} ms",
                extra={"peak_rss_mib": m.peak_rss_mib, "reply": m.reply},
            ).judge(m.median_s * 1000 < limit_ms)
        )
    m = _child(config, runs, 0, f"!digest {BUSIEST}", "full digest")
    size = _cleanup(m.reply, db.parent)
    figures.append(
        Figure(
            stage,
            f"!digest {BUSIEST} (busiest)",
            "s",
            m.seconds,
            reference=f"peak RSS {m.peak_rss_mib:.0f} MiB; {size:.1f} MiB of Markdown",
            target=f"< {DIGEST_TARGET_S:g} s, peak < {DIGEST_TARGET_MIB:.0f} MiB",
            extra={"peak_rss_mib": m.peak_rss_mib, "output_mib": size},
        ).judge(m.median_s < DIGEST_TARGET_S and m.peak_rss_mib < DIGEST_TARGET_MIB)
    )
    figures += _exports(stage, config, db, work, runs, whole_log, idle.peak_rss_mib)
    return figures


@dataclass(frozen=True)
class Rows:
    """Which incidents an export takes, how it is asked for, and how often it runs."""

    label: str
    flag: str  # appended to `!export FORMAT`
    deploy_id: int | None  # for the sqlite3 query
    runs: int


def _floor(stage: str, db: Path, work: Path, rows: Rows) -> Figure:
    binary = shutil.which("sqlite3")
    label = f"floor: sqlite3 -csv, {rows.label}"
    if binary is None:
        why = "sqlite3 CLI not installed (apt-get install -y sqlite3): rates not compared"
        return skipped(stage, label, why)
    done = [_sqlite3_csv(binary, db, work / "floor.csv", rows.deploy_id) for _ in range(rows.runs)]
    count = done[0][1]
    return Figure(
        stage,
        label,
        "rows/s",
        [count / s for s, _ in done],
        reference=f"{count:,} rows",
        note=f"{rows.runs} run of each" if rows.runs == 1 else "",
        extra={"rows": count},
    )


def _exports(
    stage: str, config: Path, db: Path, work: Path, runs: int, whole_log: bool, idle_mib: float
) -> list[Figure]:
    """Each format on the busiest deploy (rate against sqlite3), then, with `whole_log`,
    on the whole log (memory against the busiest deploy's: flat or not)."""
    selections = [Rows(f"busiest deploy ({BUSIEST})", f" --deploy {BUSIEST}", 1, runs)]
    if whole_log:
        selections.append(Rows("whole log", "", None, 1))
    figures: list[Figure] = []
    busiest_peak: dict[str, float] = {}
    for rows in selections:
        floor = _floor(stage, db, work, rows)
        figures.append(floor)
        for fmt in FORMATS:
            m = _child(config, rows.runs, 0, f"!export {fmt}{rows.flag}", "exported")
            count = _events(m.reply)
            size = _cleanup(m.reply, db.parent)
            rate = [count / s for s in m.seconds]
            figure = Figure(
                stage,
                f"!export {fmt}, {rows.label}",
                "rows/s",
                rate,
                reference=f"peak RSS {m.peak_rss_mib:.0f} MiB",
                extra={"rows": count, "peak_rss_mib": m.peak_rss_mib, "output_mib": size},
            )
            if floor.value:
                share = median(rate) / floor.value
                figure.reference = f"{share:.0%} of sqlite3; {figure.reference}"
                if floor.extra["rows"] != count:
                    figure.note = f"sqlite3 wrote {floor.extra['rows']:,} rows, !export {count:,}"
            if rows.deploy_id is not None:
                busiest_peak[fmt] = m.peak_rss_mib
                if floor.value:
                    figure.target = f">= {EXPORT_SHARE:.0%} of sqlite3"
                    figure.judge(share >= EXPORT_SHARE)
            else:
                limit = busiest_peak[fmt] + FLAT_MIB
                figure.reference += (
                    f" (busiest deploy {busiest_peak[fmt]:.0f}, idle {idle_mib:.0f})"
                )
                figure.target = f"flat: peak <= {limit:.0f} MiB"
                figure.judge(m.peak_rss_mib <= limit)
            figures.append(figure)
    return figures


if __name__ == "__main__":
    config_arg, runs_arg, warmup_arg, command = sys.argv[1:5]
    print(
        json.dumps(
            asyncio.run(_time_command(Path(config_arg), int(runs_arg), int(warmup_arg), command))
        )
    )
