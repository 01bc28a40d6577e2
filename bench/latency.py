"""Stage 1: command round trip through ngircd, beside the server's own floor and the
peers' ping.

Processes: ngircd, the bot (`deployday run`), each peer (bench.peers), an echo client,
and this one. Each repetition connects two fresh people (the per-person rate limit is
per nick) and measures every bot in turn, in an order that rotates from one repetition
to the next: a peer's block is its ping command in its own channel, sent by the writer;
deployday's is the writer's `!note 1 …` in #write and the reader's `!incidents` in #read
(20 open incidents), interleaved with the floor on the writer's connection: PING→PONG with
the server, and `ping i` in #floor answered by the echo client — a Python IrcUser in its
own process, as the bots are, so both paths pay one other client's Python. Each waits
for the whole answer.

`!incidents` is timed twice: to its first line and to its last. The bot computes the
answer whole and sends it in one write, so the first line is the bot's figure. Its last
lines come ~40 ms later whatever sends them: ngircd relays a burst 6 lines at a time
without TCP_NODELAY, and the asking client's kernel delays its ACK (two plain clients
show the same).
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from pathlib import Path

from bench import process
from bench.peers import SOPEL, Installed
from bench.process import Bot
from bench.report import Figure, median, quantile
from bench.servers import Ircd
from bot.devtools.ircuser import IrcUser
from bot.text import clean

WRITE, READ, FLOOR = "#write", "#read", "#floor"
ECHO_NICK = "echo"
TIMEOUT = 10.0
PERCENTILES = (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("max", 1.0))
DEPLOYDAY_SERIES = ("ping", "c2c", "note")  # then !incidents, timed twice
OPEN_INCIDENTS = 20
QUIET = 1.0  # no more lines for this long: an answer is complete (counting its lines)
P99_TARGET_MS = 20.0  # !incidents p99 (issue 6; issue 12 sets none)

Samples = dict[str, list[float]]  # round trips in ms, per series, for one repetition


async def _timed(action: Callable[[], Awaitable[None]]) -> float:
    started = time.perf_counter()
    await action()
    return (time.perf_counter() - started) * 1000


class Client:
    """The measuring side of one repetition."""

    def __init__(
        self, writer: IrcUser, reader: IrcUser, incident: int, listing: int, bot: Bot
    ) -> None:
        self.writer, self.reader = writer, reader
        self.incident = incident
        self.listing = listing  # lines in an answer to !incidents
        self.bot = bot
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
        reply = await self.writer.next_message(self.bot.said, timeout=TIMEOUT)
        if "noted on" not in clean(reply.text):
            raise RuntimeError(f"unexpected answer to !note: {reply.text!r}")

    async def incidents(self) -> tuple[float, float]:
        """ms to the answer's first line and to its last."""
        started = time.perf_counter()
        self.reader.say(READ, "!incidents")
        await self.reader.next_message(self.bot.said, timeout=TIMEOUT)
        first = (time.perf_counter() - started) * 1000
        for _ in range(self.listing - 1):
            await self.reader.next_message(self.bot.said, timeout=TIMEOUT)
        return first, (time.perf_counter() - started) * 1000

    async def deployday(self, samples: Samples | None) -> None:
        """One of each of deployday's series, in a fixed order."""
        measured = [(name, await _timed(getattr(self, name))) for name in DEPLOYDAY_SERIES]
        first, whole = await self.incidents()
        measured += [("incidents", first), ("incidents_whole", whole)]
        if samples is not None:
            for name, ms in measured:
                samples.setdefault(name, []).append(ms)

    async def peer(self, peer: Installed, bot: Bot, samples: Samples | None) -> None:
        """The peer's ping in its channel, answered."""
        started = time.perf_counter()
        self.writer.say(peer.peer.channel, peer.peer.command)
        reply = await self.writer.next_message(bot.said, timeout=TIMEOUT)
        ms = (time.perf_counter() - started) * 1000
        if not clean(reply.text).endswith(peer.peer.pong):
            raise RuntimeError(f"unexpected answer to {peer.peer.command}: {reply.text!r}")
        if samples is not None:
            samples.setdefault(peer.peer.key, []).append(ms)


async def _listing(reader: IrcUser, bot: Bot) -> int:
    """How many lines `!incidents` answers with (the heading, which must count
    OPEN_INCIDENTS, then as many as the listing and the transport's cap on a channel
    answer allow): those that arrive before a second of silence."""
    reader.say(READ, "!incidents")
    heading = clean((await reader.next_message(bot.said, timeout=TIMEOUT)).text)
    if not heading.startswith(f"{OPEN_INCIDENTS} open incidents"):
        raise RuntimeError(f"expected {OPEN_INCIDENTS} open incidents, got {heading!r}")
    lines = 1
    while True:
        try:
            await reader.next_message(bot.said, timeout=QUIET)
        except TimeoutError:
            return lines
        lines += 1


async def _repetition(
    ircd: Ircd,
    rep: int,
    n: int,
    warmup: int,
    incident: int,
    bot: Bot,
    peers: Sequence[tuple[Installed, Bot]],
) -> Samples:
    """Every bot's block (warm-up rounds, then `n`), starting with the `rep`-th."""
    writer = await IrcUser.connect(ircd.host, ircd.port, f"w{rep}", timeout=TIMEOUT)
    reader = await IrcUser.connect(ircd.host, ircd.port, f"r{rep}", timeout=TIMEOUT)
    try:
        for channel in (WRITE, FLOOR, *(peer.peer.channel for peer, _ in peers)):
            await writer.join(channel)
        await reader.join(READ)
        client = Client(writer, reader, incident, await _listing(reader, bot), bot)
        blocks: list[Callable[[Samples | None], Awaitable[None]]] = [
            *(partial(client.peer, peer, peer_bot) for peer, peer_bot in peers),
            client.deployday,
        ]
        first = rep % len(blocks)
        samples: Samples = {}
        for block in blocks[first:] + blocks[:first]:
            for _ in range(warmup):
                await block(None)
            for _ in range(n):
                await block(samples)
        return samples
    finally:
        await asyncio.gather(writer.quit(), reader.quit())


async def _open_incidents(ircd: Ircd, bot: Bot) -> int:
    """Opens OPEN_INCIDENTS; returns the first one's number."""
    user = await IrcUser.connect(ircd.host, ircd.port, "reporter", timeout=TIMEOUT)
    numbers = []
    try:
        await user.join(WRITE)
        for i in range(OPEN_INCIDENTS):
            user.say(WRITE, f"!break benchsvc{i} round trip probe target")
            reply = clean((await user.next_message(bot.said, timeout=TIMEOUT)).text)
            found = re.match(r"#(\d+) opened", reply)
            if found is None:
                raise RuntimeError(f"unexpected answer to !break: {reply!r}")
            numbers.append(int(found[1]))
        return numbers[0]
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


async def run(
    ircd: Ircd, work: Path, n: int, reps: int, warmup: int, peers: Sequence[Installed]
) -> list[Figure]:
    """Median over `reps` repetitions of each series' p50/p90/p99/max over `n` round trips."""
    directory = work / "deployday"
    directory.mkdir()
    bot = process.deployday(
        directory, ircd, f"sqlite:///{directory / 'latency.sqlite3'}", (WRITE, READ)
    )
    running = [await process.start(bot, ircd, (WRITE, READ))]
    try:
        peer_bots: list[tuple[Installed, Bot]] = []
        for peer in peers:
            peer_bot = peer.bot(work / peer.peer.key, ircd, peer.peer.channel)
            running.append(await process.start(peer_bot, ircd, (peer.peer.channel,)))
            peer_bots.append((peer, peer_bot))
        echo = _echo(ircd)
        try:
            incident = await _open_incidents(ircd, bot)
            results = [
                await _repetition(ircd, rep, n, warmup, incident, bot, peer_bots)
                for rep in range(reps)
            ]
        finally:
            echo.terminate()
            echo.wait(10)
    finally:
        for proc in running:
            process.stop(proc)
    return _figures(results, n, peers)


def _figures(results: list[Samples], n: int, peers: Sequence[Installed]) -> list[Figure]:
    def runs(series: str, q: float) -> list[float]:
        return [quantile(r[series], q) for r in results]

    floor = {name: median(runs("c2c", q)) for name, q in PERCENTILES}
    ping = {name: median(runs("ping", q)) for name, q in PERCENTILES}
    sopel = next((p for p in peers if p.peer is SOPEL), None)
    versus = {name: median(runs(SOPEL.key, q)) if sopel else None for name, q in PERCENTILES}

    def figure(series: str, label: str, name: str, q: float, note: str = "") -> Figure:
        return Figure(
            "round trip",
            f"{label} {name}",
            "ms",
            runs(series, q),
            note=note if name == "p50" else "",
            sopel=versus[name],
            extra={"series": series},
        )

    figures = [figure("ping", "floor: PING→PONG", name, q) for name, q in PERCENTILES]
    figures += [figure("c2c", "floor: client→client", name, q) for name, q in PERCENTILES]
    commands = [(p.peer.key, f"{p.name} {p.peer.command}") for p in peers]
    listing = f"!incidents (read, {OPEN_INCIDENTS} open)"
    commands += [
        ("note", "!note (write)"),
        ("incidents", f"{listing} first line"),
        ("incidents_whole", f"{listing} last line"),
    ]
    notes = {"incidents_whole": "+~40 ms from ngircd past 6 lines: see bench/latency.py"}
    for series, label in commands:
        for name, q in PERCENTILES:
            f = figure(series, label, name, q, notes.get(series, f"{n} sequential per run"))
            value = f.value or 0.0
            f.reference = f"{value / floor[name]:.1f}x c2c, {value / ping[name]:.1f}x ping"
            if (series, name) in (("note", "p50"), ("incidents", "p50")):
                f.judge_ratio(1.0)
            elif (series, name) == ("note", "p99"):
                f.judge_ratio(1.5)
            elif (series, name) == ("incidents", "p99"):
                f.target = f"< {P99_TARGET_MS:g} ms"
                f.judge(value < P99_TARGET_MS)
            figures.append(f)
    return figures
