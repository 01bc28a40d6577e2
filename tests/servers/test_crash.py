"""kill -9 while people fire commands: after a restart, everything the bot acknowledged
is in the database, nothing is applied twice, and numbering stays gapless."""

from __future__ import annotations

import asyncio
import itertools
import re
import signal
import sqlite3
from pathlib import Path

import pytest

from bot.devtools.ircuser import IrcUser, Received
from bot.text import clean
from tests.servers.ircd import IrcServer
from tests.servers.support import run_bot

pytestmark = pytest.mark.servers

WAIT = 20.0
CYCLES = 5
BURST = 30  # commands fired per cycle without waiting for answers
_ids = itertools.count(1)
OPENED = re.compile(r"^#(\d+) opened: \[sev3\] (\S+): ")


def write_config(path: Path, server: IrcServer, channel: str, nick: str) -> None:
    path.write_text(
        "database: sqlite:///crash.sqlite3\n"
        "rate_limit: {burst: 1000, per_minute: 6000}\n"
        f"networks:\n  local:\n    kind: irc\n    host: {server.host}\n"
        f"    port: {server.port}\n    tls: false\n    nick: {nick}\n"
        f"    channels: ['{channel}']\n    flood: {{burst: 100, per_second: 1000}}\n"
    )


async def start_bot(config: Path, user: IrcUser, nick: str) -> asyncio.subprocess.Process:
    proc = await run_bot(config, capture=False)
    await user.wait_event("join", lambda e: e.source.nick.lower() == nick.lower(), timeout=WAIT)
    return proc


async def test_kill_9_loses_nothing_that_was_acknowledged(
    miniircd: IrcServer, tmp_path: Path
) -> None:
    n = next(_ids)
    channel, nick = f"#crash{n}", f"crashbot{n}"
    config = tmp_path / "config.yaml"
    write_config(config, miniircd, channel, nick)
    user = await IrcUser.connect(miniircd.host, miniircd.port, f"firer{n}", timeout=WAIT)
    await user.join(channel)
    acknowledged: dict[str, int] = {}
    fired = 0
    proc: asyncio.subprocess.Process | None = None

    def from_bot(m: Received) -> bool:
        return m.sender.lower() == nick.lower()

    def record(m: Received) -> None:
        hit = OPENED.match(clean(m.text))
        if hit:
            acknowledged[hit[2]] = int(hit[1])

    try:
        for cycle in range(CYCLES):
            proc = await start_bot(config, user, nick)
            for i in range(BURST):
                user.say(channel, f"!break svc{cycle}-{i} broken in cycle {cycle}")
                fired += 1
            # let a few answers through, then kill mid-stream (more each cycle)
            for _ in range(3 + cycle * 5):
                record(await user.next_message(from_bot, timeout=WAIT))
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
            await user.wait_event(
                "quit", lambda e: e.source.nick.lower() == nick.lower(), timeout=WAIT
            )
            # every answer that reached the channel before the kill is an acknowledgement
            while True:
                try:
                    record(await user.next_message(from_bot, timeout=0.01))
                except TimeoutError:
                    break
        proc = await start_bot(config, user, nick)  # and it starts cleanly once more
        user.say(channel, "!incidents all")
        await user.next_message(lambda m: m.sender.lower() == nick.lower(), timeout=WAIT)
        proc.send_signal(signal.SIGTERM)
        assert await proc.wait() == 0
    finally:
        await user.quit()
        if proc is not None and proc.returncode is None:
            proc.kill()

    with sqlite3.connect(tmp_path / "crash.sqlite3") as db:
        rows = db.execute("select number, service from incidents").fetchall()
        events = db.execute("select count(*) from incident_events").fetchone()[0]
    stored = {service: number for number, service in rows}
    assert len(stored) == len(rows), "a command was applied twice"
    assert sorted(number for number, _ in rows) == list(range(1, len(rows) + 1))
    assert events == len(rows)
    missing = {s: n for s, n in acknowledged.items() if stored.get(s) != n}
    assert missing == {}, f"acknowledged but lost: {missing}"
    assert len(acknowledged) >= 3 * CYCLES
    print(
        f"\nkill -9 cycles: {CYCLES}; commands fired: {fired}; acknowledged: "
        f"{len(acknowledged)}; stored: {len(rows)}; lost: 0"
    )
