"""Stage 4: from `deployday run -c …` to the bot's JOIN seen by a client already in the
channel, and the bot's resident memory once it idles there.

Two cases, each repeated: a new SQLite database (the first start applies every
migration) and a restart on that migrated database (what every later start does).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from bench import process
from bench.procfs import memory_mib
from bench.report import Figure
from bench.servers import Ircd
from bot.devtools.ircuser import IrcUser

CHANNEL = "#startup"
START_TARGET_S = 1.0
IDLE_TARGET_MIB = 60.0
SETTLE_S = 1.0  # after joining, before reading the idle RSS


async def _start_once(ircd: Ircd, config: Path, watcher: IrcUser) -> tuple[float, float]:
    """(seconds to joined, idle RSS MiB) of one start, stopped afterwards."""
    started = time.perf_counter()
    proc = process.launch(config)
    try:
        await process.joined(watcher, CHANNEL, proc)
        seconds = time.perf_counter() - started
        await asyncio.sleep(SETTLE_S)
        return seconds, memory_mib(proc.pid)
    except Exception as exc:
        raise RuntimeError(f"{exc}\n{process.log_tail(config)}") from None
    finally:
        process.stop(proc)


async def run(ircd: Ircd, work: Path, runs: int) -> list[Figure]:
    watcher = await IrcUser.connect(ircd.host, ircd.port, "starter")
    fresh: list[tuple[float, float]] = []
    again: list[tuple[float, float]] = []
    try:
        await watcher.join(CHANNEL)
        for rep in range(runs):
            directory = work / f"start{rep}"
            directory.mkdir(parents=True)
            config = process.write_config(
                directory, ircd, f"sqlite:///{directory / 'bot.sqlite3'}", (CHANNEL,)
            )
            fresh.append(await _start_once(ircd, config, watcher))
            again.append(await _start_once(ircd, config, watcher))
    finally:
        await watcher.quit()
    figures = []
    for label, samples in (("new database", fresh), ("migrated database", again)):
        figures.append(
            Figure(
                "start-up",
                f"start to joined, {label}",
                "s",
                [s for s, _ in samples],
                target=f"< {START_TARGET_S:g} s",
            )
        )
        figures.append(
            Figure(
                "start-up",
                f"idle RSS, {label}",
                "MiB",
                [m for _, m in samples],
                reference=f"VmRSS {SETTLE_S:g} s after joining",
                target=f"< {IDLE_TARGET_MIB:g} MiB",
            )
        )
    for figure in figures:
        limit = START_TARGET_S if figure.unit == "s" else IDLE_TARGET_MIB
        figure.judge((figure.value or 0) < limit)
    return figures
