"""Stage 2: sustained write commands per second from several pipelining clients.

The bot runs as `deployday run` on a fresh database (SQLite file, or a new database on
PostgreSQL). Each client opens its own incident, then sends all its `!note N …` commands
back to back in a private message to the bot (no channel fan-out, so the clients see only
their own answers) and counts the answers. The rate is answers / (last answer - first
send); an answer that never comes is a lost reply.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from pathlib import Path

from bench import process
from bench.procfs import cpu_seconds
from bench.report import Figure, median
from bench.servers import Ircd, drop_database, fresh_database
from bot.devtools.ircuser import IrcUser, Received
from bot.text import clean

CHANNEL = "#throughput"
SILENCE = 10.0  # no answer for this long: the rest are lost
TARGET = 1000.0


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


def _from_bot(m: Received) -> bool:
    return m.sender.lower() == process.BOT_NICK


async def _client(
    ircd: Ircd, nick: str, commands: int, start: asyncio.Barrier
) -> tuple[int, float, float]:
    """(answers, first send, last answer) for one client."""
    user = await IrcUser.connect(ircd.host, ircd.port, nick, timeout=SILENCE)
    try:
        user.say(process.BOT_NICK, "!break benchsvc throughput probe")
        opened = clean((await user.next_message(_from_bot, timeout=SILENCE)).text)
        found = re.match(r"#(\d+) opened", opened)
        if found is None:
            raise RuntimeError(f"unexpected answer to !break: {opened!r}")
        await start.wait()
        started = time.perf_counter()
        for i in range(commands):
            user.say(process.BOT_NICK, f"!note {found[1]} pipelined {i}")
        answered, last = 0, started
        while answered < commands:
            try:
                reply = await user.next_message(_from_bot, timeout=SILENCE)
            except TimeoutError:
                break
            if not clean(reply.text).startswith("noted on"):
                raise RuntimeError(f"unexpected answer to !note: {reply.text!r}")
            answered += 1
            last = time.perf_counter()
        return answered, started, last
    finally:
        await user.quit()


async def _burst(ircd: Ircd, bot: int, tag: str, clients: int, commands: int) -> Burst:
    start = asyncio.Barrier(clients + 1)  # all have opened their incident: go
    clients_done = asyncio.gather(
        *(_client(ircd, f"{tag}c{c}", commands, start) for c in range(clients))
    )
    await start.wait()
    cpu = cpu_seconds(bot)
    done = await clients_done
    return Burst(
        clients * commands,
        sum(a for a, _, _ in done),
        min(s for _, s, _ in done),
        max(e for _, _, e in done),
        cpu_seconds(bot) - cpu,
    )


async def run(
    ircd: Ircd,
    work: Path,
    backend: str,
    *,
    clients: int,
    commands: int,
    reps: int,
    pg_admin: str | None = None,
) -> list[Figure]:
    """`reps` bursts of `clients` x `commands` after one small warm-up burst."""
    if backend == "postgresql":
        assert pg_admin is not None
        database = await fresh_database(pg_admin)
    else:
        database = f"sqlite:///{work / 'throughput.sqlite3'}"
    config = process.write_config(work, ircd, database, (CHANNEL,))
    bot = await process.start(config, ircd, (CHANNEL,))
    try:
        await _burst(ircd, bot.pid, "warm", clients, max(10, commands // 10))
        bursts = [await _burst(ircd, bot.pid, f"t{rep}", clients, commands) for rep in range(reps)]
    finally:
        process.stop(bot)
        if pg_admin is not None:
            await drop_database(pg_admin, database)
    lost = [float(b.sent - b.answered) for b in bursts]
    cpu_ms = median([b.bot_cpu * 1000 / max(b.answered, 1) for b in bursts])
    rate = Figure(
        "throughput",
        f"!note into {'SQLite' if backend == 'sqlite' else 'PostgreSQL'}",
        "cmd/s",
        [b.rate for b in bursts],
        reference=f"{clients} clients x {commands}; bot CPU {cpu_ms:.1f} ms/cmd",
        extra={"lost": lost, "bot_cpu_ms_per_command": cpu_ms},
    )
    if backend == "sqlite":
        rate.target = f">= {TARGET:,.0f} cmd/s, none lost"
        rate.judge((rate.value or 0) >= TARGET and not any(lost))
    figures = [rate]
    figures.append(
        Figure(
            "throughput",
            f"  lost replies ({'SQLite' if backend == 'sqlite' else 'PostgreSQL'})",
            "",
            lost,
            target="0",
        ).judge(not any(lost))
    )
    return figures
