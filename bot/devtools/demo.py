"""`deployday demo`: a short deploy day played on a real, embedded IRC server.

miniircd runs on a free loopback port, the bot joins it with a fresh SQLite file, and
five scripted people talk to it over IRC. The bot's clock is a fake one the script moves,
so two and a half hours of firefighting play in seconds and the MTTA/MTTR figures look
like a real day's. The day is the one that ends now, in the machine's time zone, so the
digest and the export are stamped with the time the demo ran, never a time to come.
Each step waits for the bot's complete answer before the next, so the transcript is the
same on every run but for its clock times.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path

import tzlocal

from bot.app import App
from bot.clock import FakeClock
from bot.devtools.ircuser import IrcUser, Received
from bot.loading import build_config
from bot.text import clean
from bot.transports.irc import IrcTransport

CHANNEL = "#deploy-day"
BOT = "deployday"
TIMEOUT = 15.0

# (minutes after the deploy's start, who, what they type); nobody: time passes and the bot
# may speak; {start} is the deploy's start as typed in chat
SCRIPT: list[tuple[int, str, str]] = [
    (-80, "alice", "!roster add bob infra"),
    (-80, "alice", "!roster add carol releng"),
    (-80, "alice", "!roster add erin docs"),
    (
        -75,
        "alice",
        "!deploy plan pkgdb2 {start} --service pkgdb --api-break packages API v2; the v1 "
        "endpoints return 410",
    ),
    (-74, "alice", "!deploy expect pkgdb2 infra releng docs"),
    (-60, "", ""),
    (0, "alice", "!deploy start pkgdb2"),
    (2, "bob", "!checkin"),
    (2, "carol", "!checkin"),
    (3, "alice", "!lead alice"),
    (4, "dave", "!oncall"),
    (5, "dave", "!break pkgdb API returns 500 on /api/packages"),
    (6, "bob", "!take 1"),
    (8, "dave", "!break pkgdb --consumer fedora-review review tool fails with 410 Gone"),
    (9, "erin", "!break docs API examples still use the v1 endpoints"),
    (10, "carol", "!break koji-scripts --env stg mass-rebuild script fails"),
    (12, "carol", "!take 4"),
    (13, "alice", "!assign 2 bob"),
    (15, "dave", "!break bodhi --sev 2 update submission times out"),
    (16, "bob", "!note 1 the migration left an index out; adding it"),
    (17, "bob", "!sev 1 1"),
    (18, "alice", "!page infra bodhi submissions time out, who can look?"),
    (20, "erin", "!checkin"),
    (21, "erin", "!take 3"),
    (25, "bob", "!fixed 1 added the missing index"),
    (31, "carol", "!fixed 4 pointed the script at production"),
    (35, "dave", "!reopen 1 still 500 for /api/packages?page=2"),
    (40, "bob", "!fixed 1 pagination query fixed too"),
    (42, "bob", "!ack 5"),
    (45, "alice", "!consumers"),
    (46, "alice", "!catalog add-consumer pkgdb fedora-review qa"),
    (50, "bob", "!fixed 2 fedora-review ported to the v2 API"),
    (65, "erin", "!fixed 3 examples updated for v2"),
    (70, "dave", "!show 1"),
    (71, "alice", "!incidents all"),
    (72, "alice", "!mttr"),
    (73, "alice", "!deploy end"),
    (74, "alice", "!export csv"),
]


def local_zone() -> str:
    """The machine's time zone (an IANA name), UTC when it cannot be told."""
    return tzlocal.get_localzone_name() or "UTC"


def deploy_start(now: datetime) -> datetime:
    """When the scripted deploy starts so that its last step is `now` (to the minute)."""
    end = now.astimezone(UTC).replace(second=0, microsecond=0)
    return end - timedelta(minutes=SCRIPT[-1][0])


def _typed(when: datetime, now: datetime, tz: tzinfo) -> str:
    """`when` as a person types it in chat: 09:00, or tomorrow 09:00 past midnight."""
    local = when.astimezone(tz)
    day = "" if local.date() == now.astimezone(tz).date() else "tomorrow "
    return f"{day}{local:%H:%M}"


async def play(db_path: Path, *, now: datetime | None = None, zone: str | None = None) -> int:
    """Run the scripted day ending `now` (default: the real time) in time zone `zone`
    (default: the machine's); the SQLite file at `db_path` is recreated and kept."""
    db_path = await asyncio.to_thread(_fresh_database, db_path)
    start = deploy_start(now or datetime.now(UTC))
    clock = FakeClock(start + timedelta(minutes=SCRIPT[0][0]))
    zone = zone or local_zone()
    async with miniircd() as port:
        config = build_config(_config(db_path, port, zone))
        transport = IrcTransport("demo", config.networks["demo"], clock=clock, tz=config.tz)

        def at() -> str:
            return f"{clock.now().astimezone(config.tz):%H:%M}"

        app = App(config, [transport], clock=clock)
        await app.start()
        try:
            async with asyncio.timeout(TIMEOUT):
                await transport.wait_ready()
            people = {}
            for nick in ("alice", "bob", "carol", "dave", "erin"):
                people[nick] = await IrcUser.connect("127.0.0.1", port, nick)
                await people[nick].join(CHANNEL)
            print(
                f"deployday demo: miniircd on 127.0.0.1:{port}, database {db_path}; "
                f"the day that ends now, times in {config.timezone}\n"
            )
            watcher = people["alice"]
            for minute, nick, line in SCRIPT:
                before = transport.lines_sent
                clock.set(start + timedelta(minutes=minute))
                await _posted(app, transport, watcher, at, before)  # reminders fell due
                if nick:
                    line = line.format(start=_typed(start, clock.now(), config.tz))
                    print(f"[{at()}] <{nick}> {line}")
                    await _step(app, transport, people[nick], watcher, line, at)
            for user in people.values():
                await user.quit()
        finally:
            await app.stop()
    print(
        f"\nThe database stays at {db_path}; look around with:\n"
        f"  printf 'database: sqlite:///{db_path}\\ntimezone: {zone}\\n' > demo.yaml\n"
        f"  .venv/bin/deployday console -c demo.yaml"
    )
    return 0


def _config(db_path: Path, port: int, zone: str) -> dict[str, object]:
    return {
        "database": f"sqlite:///{db_path}",
        "timezone": zone,
        "admins": ["alice"],
        "networks": {
            "demo": {
                "kind": "irc",
                "host": "127.0.0.1",
                "port": port,
                "tls": False,
                "nick": BOT,
                "channels": [CHANNEL],
                "identify_by": "nick",
                "max_reply_lines": 20,
                "flood": {"burst": 50, "per_second": 500},
            }
        },
        "catalog": {
            "services": {
                "pkgdb": {
                    "team": "infra",
                    "consumers": {"bodhi": "infra", "koji-scripts": "releng", "docs": "docs"},
                }
            }
        },
    }


def _fresh_database(path: Path) -> Path:
    path = path.resolve()
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    return path


Now = Callable[[], str]  # the fake clock's time of day, as the transcript shows it


async def _step(
    app: App, transport: IrcTransport, who: IrcUser, watcher: IrcUser, line: str, at: Now
) -> None:
    """Say `line` and print the bot's whole answer as the channel sees it."""
    before = transport.lines_sent
    who.say(CHANNEL, line)
    shown = 0
    async with asyncio.timeout(TIMEOUT):
        _show(await watcher.next_message(lambda m: m.sender == BOT), at)
        shown += 1
        await app.tracker.settle()
        await transport.flushed()
        while shown < transport.lines_sent - before:
            _show(await watcher.next_message(lambda m: m.sender == BOT), at)
            shown += 1


async def _posted(
    app: App, transport: IrcTransport, watcher: IrcUser, at: Now, before: int
) -> None:
    """Print what scheduled jobs posted since `before` (lines sent), once they are done."""
    async with asyncio.timeout(TIMEOUT):
        await app.tracker.settle()
        await transport.flushed()
        for _ in range(transport.lines_sent - before):
            _show(await watcher.next_message(lambda m: m.sender == BOT), at)


def _show(message: Received, at: Now) -> None:
    """One line of the bot's as the channel sees it, or as a private message to the
    watcher (where a file went)."""
    text = message.text
    if sys.stdout.isatty() and os.environ.get("NO_COLOR") is None:
        parts = text.split("\x02")
        text = "".join(p if i % 2 == 0 else f"\x1b[1m{p}\x1b[0m" for i, p in enumerate(parts))
    else:
        text = clean(text)
    to = "" if message.target.startswith("#") else f" (privately to {message.target})"
    print(f"[{at()}] <{BOT}>{to} {text}")


@contextlib.asynccontextmanager
async def miniircd() -> AsyncIterator[int]:
    """miniircd (installed with deployday) on a free loopback port, stopped afterwards."""
    exe = shutil.which("miniircd") or str(Path(sys.executable).with_name("miniircd"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [exe, "--listen", "127.0.0.1", "--ports", str(port)]
    if os.geteuid() == 0:
        cmd += ["--setuid", "nobody"]  # miniircd refuses to keep running as root
    workdir = Path(tempfile.mkdtemp(prefix="deployday-demo-"))
    with (workdir / "miniircd.log").open("wb") as log:
        proc = await asyncio.create_subprocess_exec(
            *cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=workdir,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + TIMEOUT
        while not await _port_open(port):
            if proc.returncode is not None or time.monotonic() > deadline:
                raise RuntimeError(f"miniircd did not start; see {workdir / 'miniircd.log'}")
            await asyncio.sleep(0.02)
        yield port
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 5)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        shutil.rmtree(workdir, ignore_errors=True)


async def _port_open(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    return True
