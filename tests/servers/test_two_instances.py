"""Two bot processes sharing one PostgreSQL database (one per channel here, as one per
network would be): incident numbers stay unique and gapless under concurrent reports,
and a race on one incident has one winner while the loser is told."""

from __future__ import annotations

import asyncio
import itertools
import re
import signal
from pathlib import Path

import psycopg
import pytest

from bot.devtools.ircuser import IrcUser, Received
from bot.text import clean
from tests.servers.ircd import IrcServer
from tests.servers.support import run_bot

pytestmark = pytest.mark.servers

WAIT = 20.0
REPORTS = 25  # per instance, fired without waiting
_ids = itertools.count(1)
OPENED = re.compile(r"^#(\d+) opened: \[sev3\] (\S+): ")
ABOUT_1 = re.compile(r"^(\S+: )?#1 ")  # an answer about #1, not an announcement


def config_text(
    server: IrcServer,
    database: str,
    nick: str,
    channel: str,
    admins: list[str],
    network: str = "local",
) -> str:
    """Instances with the same network name are replicas (one serves, one stands by);
    different names are separate networks, each served by its own instance."""
    return (
        f"database: {database}\n"
        f"admins: {admins}\n"
        "rate_limit: {burst: 1000, per_minute: 6000}\n"
        f"networks:\n  {network}:\n    kind: irc\n    host: {server.host}\n"
        f"    port: {server.port}\n    tls: false\n    nick: {nick}\n"
        f"    channels: ['{channel}']\n    flood: {{burst: 100, per_second: 1000}}\n"
        "    identify_by: nick\n"
    )


async def test_two_instances_share_one_postgresql(
    miniircd: IrcServer, postgres_url: str, tmp_path: Path
) -> None:
    n = next(_ids)
    names = [f"dda{n}", f"ddb{n}"]
    channels = [f"#east{n}", f"#west{n}"]
    people = [f"ann{n}", f"ben{n}"]
    users = [await IrcUser.connect(miniircd.host, miniircd.port, p, timeout=WAIT) for p in people]
    for user, channel in zip(users, channels, strict=True):
        await user.join(channel)
    procs: list[asyncio.subprocess.Process] = []
    try:
        for name, channel, admin in zip(names, channels, people, strict=True):
            config = tmp_path / f"{name}.yaml"
            config.write_text(
                config_text(miniircd, postgres_url, name, channel, [f"{admin}@{name}"], name)
            )
            procs.append(await run_bot(config))
        for user, name in zip(users, names, strict=True):
            await user.wait_event("join", lambda e, name=name: e.source.nick == name, timeout=WAIT)

        # both instances take reports at the same time
        for i in range(REPORTS):
            for user, channel in zip(users, channels, strict=True):
                user.say(channel, f"!break {channel[1:]}-{i} broken")
        numbers: dict[str, int] = {}
        for user, name in zip(users, names, strict=True):
            for _ in range(REPORTS):
                m = await user.next_message(
                    lambda m, name=name: m.sender == name and bool(OPENED.match(clean(m.text))),
                    timeout=WAIT,
                )
                hit = OPENED.match(clean(m.text))
                assert hit is not None
                numbers[hit[2]] = int(hit[1])
        assert sorted(numbers.values()) == list(range(1, 2 * REPORTS + 1))
        # each instance announces the other's incidents in its own channel (the relay)
        relayed = await users[1].next_message(
            lambda m: m.sender == names[1] and "new incident" in m.text, timeout=WAIT
        )
        assert re.search(
            rf"\[sev3\] {channels[0][1:]}-\d+: broken \(reported by ann", clean(relayed.text)
        )

        # both try to fix #1 at once: one wins, the other is told
        for user, channel in zip(users, channels, strict=True):
            user.say(channel, "!fixed 1")
        answers: list[Received] = []
        for user, name in zip(users, names, strict=True):
            answers.append(
                await user.next_message(
                    lambda m, name=name: m.sender == name and bool(ABOUT_1.match(clean(m.text))),
                    timeout=WAIT,
                )
            )
        texts = sorted(clean(a.text) for a in answers)
        assert len([t for t in texts if " fixed by " in t]) == 1, texts
        assert len([t for t in texts if "#1 is already fixed" in t]) == 1, texts
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            _, err = await asyncio.wait_for(proc.communicate(), WAIT)
            assert proc.returncode == 0, err.decode()[-2000:]
        for user in users:
            await user.quit()

    async with await psycopg.AsyncConnection.connect(postgres_url) as conn:
        cur = await conn.execute("select kind, count(*) from incident_events group by kind")
        events = await cur.fetchall()
    assert dict(events) == {"reported": 2 * REPORTS, "fixed": 1}


async def test_jobs_run_on_one_instance_and_move_when_it_dies(
    miniircd: IrcServer, postgres_url: str, tmp_path: Path
) -> None:
    """Two instances in one channel, each with a job every second: only the lease holder
    runs it; kill -9 the holder and the other takes over once the lease (3 s) expires."""
    n = next(_ids)
    names, channel = [f"tka{n}", f"tkb{n}"], f"#ticks{n}"
    user = await IrcUser.connect(miniircd.host, miniircd.port, f"watch{n}", timeout=WAIT)
    await user.join(channel)
    procs: dict[str, asyncio.subprocess.Process] = {}
    try:
        for name in names:
            config = tmp_path / f"{name}.yaml"
            config.write_text(
                config_text(miniircd, postgres_url, name, channel, [])
                + "coordination: {lease: true, lease_seconds: 3}\n"
                + "plugins: [plugins.deploys, plugins.roster, plugins.incidents, "
                "plugins.metrics, tests.servers.ticker]\n"
            )
            procs[name] = await run_bot(config)
        for name in names:
            await user.wait_event("join", lambda e, name=name: e.source.nick == name, timeout=WAIT)

        async def ticks(count: int) -> list[str]:
            got = []
            for _ in range(count):
                m = await user.next_message(lambda m: m.text.startswith("tick"), timeout=WAIT)
                got.append(m.sender)
            return got

        first = await ticks(6)
        assert len(set(first)) == 1, f"both instances ran the job: {first}"
        holder = first[0]
        procs[holder].send_signal(signal.SIGKILL)
        await procs[holder].wait()
        other = next(name for name in names if name != holder)
        after = await user.next_message(
            lambda m: m.text.startswith("tick") and m.sender == other, timeout=WAIT
        )
        assert after.sender == other
        assert set(await ticks(3)) == {other}
    finally:
        for name, proc in procs.items():
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
                _, err = await asyncio.wait_for(proc.communicate(), WAIT)
                assert proc.returncode == 0, f"{name}: {err.decode()[-2000:]}"
        await user.quit()
