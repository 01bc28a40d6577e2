"""Stage 4: from starting a bot to its JOIN seen by a client already in the channel, and
the bot's resident memory once it idles there; deployday beside the peers.

deployday has two cases, each repeated: a new SQLite database (the first start applies
every migration) and a restart on that migrated database (what every later start does).
A peer restarts in a directory its first, unmeasured start has filled (its database,
logs and saved settings), as it does every day; deployday, too, gets a first unmeasured
start (in a directory of its own), which leaves Python's compiled modules cached as the
peers' installs have them. Per repetition every bot starts in an
order that rotates from one repetition to the next.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from pathlib import Path

from bench import process
from bench.peers import SOPEL, Installed
from bench.process import Bot
from bench.procfs import memory_mib
from bench.report import Figure, median
from bench.servers import Ircd
from bot.devtools.ircuser import IrcUser

CHANNEL = "#startup"
SETTLE_S = 1.0  # after joining, before reading the idle RSS
# deployday's cases in the order they run, each with its limit: Sopel's start times this
START_SHARE = {"new database": 1.5, "migrated database": 1.0}
RSS_SHARE = 1.1  # of Sopel's idle RSS, at most

Sample = tuple[float, float]  # seconds to joined, idle RSS MiB


async def timed_start(
    bot: Bot, joined: Callable[[subprocess.Popen[bytes]], Awaitable[None]]
) -> Sample:
    """One start of `bot` until `joined(proc)` returns, and its RSS SETTLE_S later;
    stopped afterwards."""
    started = time.perf_counter()
    proc = process.launch(bot)
    try:
        await joined(proc)
        seconds = time.perf_counter() - started
        await asyncio.sleep(SETTLE_S)
        return seconds, memory_mib(proc.pid)
    except Exception as exc:
        raise RuntimeError(f"{exc}\n{process.log_tail(bot)}") from None
    finally:
        process.stop(proc)


async def _start_once(watcher: IrcUser, bot: Bot) -> Sample:
    """One start of `bot` to its JOIN in CHANNEL."""
    return await timed_start(bot, partial(process.joined, watcher, bot, CHANNEL))


async def run(ircd: Ircd, work: Path, runs: int, peers: Sequence[Installed]) -> list[Figure]:
    watcher = await IrcUser.connect(ircd.host, ircd.port, "starter")
    samples: dict[str, list[Sample]] = {}

    async def deployday(rep: int) -> None:
        directory = work / f"start{rep}"
        directory.mkdir(parents=True)
        bot = process.deployday(
            directory, ircd, f"sqlite:///{directory / 'bot.sqlite3'}", (CHANNEL,)
        )
        for case in START_SHARE:
            samples.setdefault(case, []).append(await _start_once(watcher, bot))

    async def peer(bot: Bot, key: str, rep: int) -> None:
        samples.setdefault(key, []).append(await _start_once(watcher, bot))

    try:
        await watcher.join(CHANNEL)
        starts: list[Callable[[int], Awaitable[None]]] = []
        for installed in peers:
            bot = installed.bot(work / installed.peer.key, ircd, CHANNEL)
            await _start_once(watcher, bot)
            starts.append(partial(peer, bot, installed.peer.key))
        warm = work / "warm-up"
        warm.mkdir(parents=True)
        await _start_once(
            watcher, process.deployday(warm, ircd, f"sqlite:///{warm / 'bot.sqlite3'}", (CHANNEL,))
        )
        starts.append(deployday)
        for rep in range(runs):
            first = rep % len(starts)
            for start in starts[first:] + starts[:first]:
                await start(rep)
    finally:
        await watcher.quit()
    return _figures(samples, peers)


def _figures(samples: dict[str, list[Sample]], peers: Sequence[Installed]) -> list[Figure]:
    def seconds(key: str) -> list[float]:
        return [s for s, _ in samples[key]]

    def mib(key: str) -> list[float]:
        return [m for _, m in samples[key]]

    has_sopel = SOPEL.key in samples
    sopel_s = median(seconds(SOPEL.key)) if has_sopel else None
    sopel_mib = median(mib(SOPEL.key)) if has_sopel else None
    rss = f"VmRSS {SETTLE_S:g} s after joining"
    figures = []
    for installed in peers:
        key = installed.peer.key
        extra = {"bot": key}
        figures += [
            Figure(
                "start-up",
                f"{installed.name}: start to joined",
                "s",
                seconds(key),
                reference="a restart: its directory filled by a first start",
                sopel=sopel_s,
                extra=extra,
            ),
            Figure(
                "start-up",
                f"{installed.name}: idle RSS",
                "MiB",
                mib(key),
                reference=rss,
                sopel=sopel_mib,
                extra=extra,
            ),
        ]
    for case, share in START_SHARE.items():
        extra = {"bot": "deployday", "case": case}
        figures.append(
            Figure(
                "start-up",
                f"deployday: start to joined, {case}",
                "s",
                seconds(case),
                sopel=sopel_s,
                extra=extra,
            ).judge_ratio(share)
        )
        figures.append(
            Figure(
                "start-up",
                f"deployday: idle RSS, {case}",
                "MiB",
                mib(case),
                reference=rss,
                sopel=sopel_mib,
                extra=extra,
            ).judge_ratio(RSS_SHARE)
        )
    return figures
