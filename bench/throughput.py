"""Stage 2: sustained commands per second from several pipelining clients, deployday's
`!note` (a write) beside the peers' ping.

Every bot runs at once, idle but for the one under load: deployday as `deployday run`
on a fresh SQLite file and, when PostgreSQL is there, a second one on a new database,
and each peer. Per repetition each bot takes one burst, in an order that rotates from
one repetition to the next. In a burst each client (a new nick) first opens its own
incident on deployday, then sends all its commands back to back in a private message to
the bot (no channel fan-out, so the clients see only their own answers) and counts the
answers. The rate is answers / (last answer - first send); an answer that never comes
is a lost reply.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench import process
from bench.peers import SOPEL, Installed
from bench.process import Bot
from bench.procfs import cpu_seconds
from bench.report import Figure, median
from bench.servers import Ircd, drop_database, fresh_database
from bot.devtools.ircuser import IrcUser
from bot.text import clean

CHANNEL = "#throughput"
SILENCE = 10.0  # no answer for this long: the rest are lost
SOPEL_SHARE = {"sqlite": 1.0, "postgresql": 0.7}  # of Sopel's pipelined ping, at least

Commands = Callable[[int], str]  # the i-th command a client sends


@dataclass(frozen=True)
class Contender:
    """A bot under pipelined load: what a client does first (returning the commands it
    sends), and whether an answer is the right one."""

    key: str
    label: str
    bot: Bot
    prepare: Callable[[IrcUser, Bot], Awaitable[Commands]]
    answered: Callable[[str], bool]
    about: dict[str, str]  # for the JSON


async def _open_incident(user: IrcUser, bot: Bot) -> Commands:
    user.say(bot.nick, "!break benchsvc throughput probe")
    opened = clean((await user.next_message(bot.said, timeout=SILENCE)).text)
    found = re.match(r"#(\d+) opened", opened)
    if found is None:
        raise RuntimeError(f"unexpected answer to !break: {opened!r}")
    number = found[1]
    return lambda i: f"!note {number} pipelined {i}"


def _notes(key: str, label: str, bot: Bot) -> Contender:
    about = {"bot": "deployday", "database": key}
    return Contender(key, label, bot, _open_incident, lambda t: t.startswith("noted on"), about)


def _pings(peer: Installed, bot: Bot) -> Contender:
    async def prepare(user: IrcUser, bot: Bot) -> Commands:
        return lambda i: peer.peer.command

    label = f"{peer.name} {peer.peer.command}"
    pong = peer.peer.pong
    about = {"bot": peer.peer.key}
    return Contender(peer.peer.key, label, bot, prepare, lambda t: t.endswith(pong), about)


@dataclass(frozen=True)
class Burst:
    """One repetition: every client's commands, and the CPU time the bot spent on them."""

    sent: int
    answered: int
    first_send: float
    last_answer: float
    bot_cpu: float

    @property
    def rate(self) -> float:
        return self.answered / max(self.last_answer - self.first_send, 1e-9)


async def _client(
    ircd: Ircd, nick: str, contender: Contender, commands: int, start: asyncio.Barrier
) -> tuple[int, float, float]:
    """(answers, first send, last answer) for one client."""
    bot = contender.bot
    user = await IrcUser.connect(ircd.host, ircd.port, nick, timeout=SILENCE)
    try:
        command = await contender.prepare(user, bot)
        await start.wait()
        started = time.perf_counter()
        for i in range(commands):
            user.say(bot.nick, command(i))
        answered, last = 0, started
        while answered < commands:
            try:
                reply = await user.next_message(bot.said, timeout=SILENCE, notices=True)
            except TimeoutError:
                break
            if not contender.answered(clean(reply.text)):
                raise RuntimeError(f"unexpected answer from {bot.name}: {reply.text!r}")
            answered += 1
            last = time.perf_counter()
        return answered, started, last
    finally:
        await user.quit()


async def _burst(
    ircd: Ircd, contender: Contender, pid: int, tag: str, clients: int, commands: int
) -> Burst:
    start = asyncio.Barrier(clients + 1)  # all have done their setup: go
    clients_done = asyncio.gather(
        *(_client(ircd, f"{tag}c{c}", contender, commands, start) for c in range(clients))
    )
    await start.wait()
    cpu = cpu_seconds(pid)
    done = await clients_done
    return Burst(
        clients * commands,
        sum(a for a, _, _ in done),
        min(s for _, s, _ in done),
        max(e for _, _, e in done),
        cpu_seconds(pid) - cpu,
    )


async def run(
    ircd: Ircd,
    work: Path,
    peers: Sequence[Installed],
    *,
    clients: int,
    commands: int,
    reps: int,
    pg_admin: str | None = None,
) -> list[Figure]:
    """`reps` bursts of `clients` x `commands` per bot, after one small warm-up burst."""
    contenders: list[Contender] = []
    for peer in peers:
        contenders.append(_pings(peer, peer.bot(work / peer.peer.key, ircd, CHANNEL)))
    sqlite = work / "deployday-sqlite"
    sqlite.mkdir()
    bot = process.deployday(sqlite, ircd, f"sqlite:///{sqlite / 'throughput.sqlite3'}", (CHANNEL,))
    contenders.append(_notes("sqlite", "!note into SQLite", bot))
    database = await fresh_database(pg_admin) if pg_admin is not None else None
    if database is not None:
        directory = work / "deployday-postgresql"
        directory.mkdir()
        bot = process.deployday(directory, ircd, database, (CHANNEL,), nick="deployday-pg")
        contenders.append(_notes("postgresql", "!note into PostgreSQL", bot))
    running: list[subprocess.Popen[bytes]] = []
    bursts: dict[str, list[Burst]] = {c.key: [] for c in contenders}
    pids: dict[str, int] = {}
    try:
        for index, contender in enumerate(contenders):
            proc = await process.start(contender.bot, ircd, (CHANNEL,))
            running.append(proc)
            pids[contender.key] = proc.pid
            await _burst(ircd, contender, proc.pid, f"w{index}", clients, max(10, commands // 10))
        for rep in range(reps):
            first = rep % len(contenders)
            for contender in contenders[first:] + contenders[:first]:
                tag = f"t{rep}b{contenders.index(contender)}"
                bursts[contender.key].append(
                    await _burst(ircd, contender, pids[contender.key], tag, clients, commands)
                )
    finally:
        for proc in running:
            process.stop(proc)
        if database is not None:
            assert pg_admin is not None
            await drop_database(pg_admin, database)
    return _figures(contenders, bursts, clients, commands)


def _figures(
    contenders: Sequence[Contender], bursts: dict[str, list[Burst]], clients: int, commands: int
) -> list[Figure]:
    sopel = median([b.rate for b in bursts[SOPEL.key]]) if SOPEL.key in bursts else None
    figures = []
    for contender in contenders:
        done = bursts[contender.key]
        lost = [float(b.sent - b.answered) for b in done]
        cpu_ms = median([b.bot_cpu * 1000 / max(b.answered, 1) for b in done])
        figure = Figure(
            "throughput",
            contender.label,
            "cmd/s",
            [b.rate for b in done],
            reference=(
                f"{clients} clients x {commands}; {max(lost):.0f} lost; bot CPU {cpu_ms:.2f} ms/cmd"
            ),
            sopel=sopel,
            extra={**contender.about, "lost": lost, "bot_cpu_ms_per_command": cpu_ms},
        )
        if contender.key in SOPEL_SHARE:
            figure.judge_ratio(SOPEL_SHARE[contender.key], at_least=True, also=not any(lost))
            figure.target += ", 0 lost"
        figures.append(figure)
    return figures
