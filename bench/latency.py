"""Stage 1: command round trip through ngircd, beside the server's own floor.

Four processes: ngircd, the bot (`deployday run`), an echo client, and this one. Each
repetition connects two fresh people (the per-person rate limit is per nick): the writer
sends `!note 1 …` in #write, the reader `!incidents` in #read, each waiting for the whole
answer. Interleaved with those, the writer measures the floor on the same connection:
PING→PONG with the server, and `ping i` in #floor answered by the echo client — a Python
IrcUser in its own process, as the bot is, so both paths pay one other client's Python.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench import process
from bench.report import Figure, median, quantile
from bench.servers import Ircd
from bot.devtools.ircuser import IrcUser, Received
from bot.text import clean

WRITE, READ, FLOOR = "#write", "#read", "#floor"
ECHO_NICK = "echo"
TIMEOUT = 10.0
PERCENTILES = (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("max", 1.0))
SERIES = ("ping", "c2c", "note", "incidents")
LISTING_LINES = 2


@dataclass
class Samples:
    """Round trips in ms, per series, for one repetition."""

    ms: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in SERIES})


async def _timed(action: Callable[[], Awaitable[None]]) -> float:
    started = time.perf_counter()
    await action()
    return (time.perf_counter() - started) * 1000


def _from_bot(m: Received) -> bool:
    return m.sender.lower() == process.BOT_NICK


class Client:
    """The measuring side of one repetition."""

    def __init__(self, writer: IrcUser, reader: IrcUser, incident: int) -> None:
        self.writer, self.reader = writer, reader
        self.incident = incident
        self._pings = 0

    async def ping(self) -> None:
        self._pings += 1
        token = f"b{self._pings}"
        self.writer.raw(f"PING :{token}")
        await self.writer.wait_event(
            "pong", lambda e: token in e.arguments or e.target == token, timeout=TIMEOUT
        )

    async def c2c(self) -> None:
        self._pings += 1
        token = f"ping {self._pings}"
        self.writer.say(FLOOR, token)
        want = "pong" + token[4:]
        await self.writer.next_message(lambda m: m.text == want, timeout=TIMEOUT)

    async def note(self) -> None:
        self.writer.say(WRITE, f"!note {self.incident} round trip probe")
        reply = await self.writer.next_message(_from_bot, timeout=TIMEOUT)
        if "noted on" not in clean(reply.text):
            raise RuntimeError(f"unexpected answer to !note: {reply.text!r}")

    async def incidents(self) -> None:
        self.reader.say(READ, "!incidents")
        for _ in range(LISTING_LINES):
            await self.reader.next_message(_from_bot, timeout=TIMEOUT)

    async def round(self, samples: Samples | None) -> None:
        """One of each, in a fixed order."""
        for name in SERIES:
            ms = await _timed(getattr(self, name))
            if samples is not None:
                samples.ms[name].append(ms)


async def _check_listing(reader: IrcUser) -> None:
    """`!incidents` must answer with LISTING_LINES lines: a heading and the one incident."""
    reader.say(READ, "!incidents")
    heading = clean((await reader.next_message(_from_bot, timeout=TIMEOUT)).text)
    if not heading.startswith("1 open incident"):
        raise RuntimeError(f"expected exactly one open incident, got {heading!r}")
    await reader.next_message(_from_bot, timeout=TIMEOUT)


async def _repetition(ircd: Ircd, rep: int, n: int, warmup: int, incident: int) -> Samples:
    writer = await IrcUser.connect(ircd.host, ircd.port, f"w{rep}", timeout=TIMEOUT)
    reader = await IrcUser.connect(ircd.host, ircd.port, f"r{rep}", timeout=TIMEOUT)
    try:
        await writer.join(WRITE)
        await writer.join(FLOOR)
        await reader.join(READ)
        await _check_listing(reader)
        client = Client(writer, reader, incident)
        for _ in range(warmup):
            await client.round(None)
        samples = Samples()
        for _ in range(n):
            await client.round(samples)
        return samples
    finally:
        await asyncio.gather(writer.quit(), reader.quit())


async def _open_incident(ircd: Ircd) -> int:
    user = await IrcUser.connect(ircd.host, ircd.port, "reporter", timeout=TIMEOUT)
    try:
        await user.join(WRITE)
        user.say(WRITE, "!break benchsvc round trip probe target")
        reply = clean((await user.next_message(_from_bot, timeout=TIMEOUT)).text)
        found = re.match(r"#(\d+) opened", reply)
        if found is None:
            raise RuntimeError(f"unexpected answer to !break: {reply!r}")
        return int(found[1])
    finally:
        await user.quit()


def _echo(ircd: Ircd) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.echo", ircd.host, str(ircd.port), ECHO_NICK, FLOOR],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "ready":
        proc.kill()
        raise RuntimeError("the echo client did not start")
    return proc


async def run(ircd: Ircd, work: Path, n: int, reps: int, warmup: int) -> list[Figure]:
    """Median over `reps` repetitions of each series' p50/p90/p99/max over `n` round trips."""
    config = process.write_config(
        work, ircd, f"sqlite:///{work / 'latency.sqlite3'}", (WRITE, READ)
    )
    bot = await process.start(config, ircd, (WRITE, READ))
    echo = _echo(ircd)
    try:
        incident = await _open_incident(ircd)
        results = [await _repetition(ircd, rep, n, warmup, incident) for rep in range(reps)]
    finally:
        echo.terminate()
        echo.wait(10)
        process.stop(bot)
    return _figures(results, n)


def _figures(results: list[Samples], n: int) -> list[Figure]:
    def runs(series: str, q: float) -> list[float]:
        return [quantile(r.ms[series], q) for r in results]

    floor = {name: median(runs("c2c", q)) for name, q in PERCENTILES}
    ping = {name: median(runs("ping", q)) for name, q in PERCENTILES}
    figures = [
        Figure("round trip", f"floor: PING→PONG {name}", "ms", runs("ping", q))
        for name, q in PERCENTILES
    ]
    figures += [
        Figure("round trip", f"floor: client→client {name}", "ms", runs("c2c", q))
        for name, q in PERCENTILES
    ]
    for series, label in (("note", "!note (write)"), ("incidents", "!incidents (read)")):
        for name, q in PERCENTILES:
            figure = Figure(
                "round trip",
                f"{label} {name}",
                "ms",
                runs(series, q),
                note=f"{n} sequential per run" if name == "p50" else "",
            )
            value = figure.value or 0.0
            figure.reference = f"{value / floor[name]:.1f}x c2c, {value / ping[name]:.1f}x ping"
            if name == "p50":
                limit = 1.5 * floor["p50"] + 1
                figure.target = f"<= 1.5x c2c + 1 ms = {limit:.2f} ms"
                figure.judge(value <= limit)
            elif name == "p99":
                figure.target = "< 20 ms"
                figure.judge(value < 20)
            figures.append(figure)
    return figures
