"""`deployday run` as systemd runs it (issue 13, item 9), on a real process and a real IRC
server: READY once joined, WATCHDOG while healthy, a SIGHUP reload without reconnecting
(and a bad config refused), STOPPING and a log line at the end; the log as JSON lines
in a file. Every wait ends on a datagram, a chat line or the process exiting."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC
from pathlib import Path

import pytest

from bot.cli.probe import ProbeFailed, probe_matrix
from bot.clock import FakeClock
from bot.config.networks import IrcNetworkConfig, MatrixNetworkConfig
from bot.devtools.ircuser import IrcUser
from bot.transports.irc import IrcTransport
from tests.servers.ircd import IrcServer
from tests.servers.support import free_port, need, which
from tests.servers.synapse import Homeserver

pytestmark = pytest.mark.servers

ROOT = Path(__file__).resolve().parents[2]
WAIT = 20.0
CHANNEL = "#service"
NICK = "svcbot"


def write_config(path: Path, server: IrcServer, admins: str) -> None:
    path.write_text(
        f"database: sqlite:///svc.sqlite3\nadmins: {admins}\n"
        f"networks:\n  local:\n    kind: irc\n    host: {server.host}\n"
        f"    port: {server.port}\n    tls: false\n    nick: {NICK}\n"
        f"    channels: ['{CHANNEL}']\n    flood: {{burst: 100, per_second: 1000}}\n"
    )


class Listener:
    """The NOTIFY_SOCKET end systemd would hold."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.setblocking(False)
        self.seen: list[str] = []

    async def until(self, wanted: str) -> list[str]:
        """Datagrams up to and including the first containing the line `wanted`."""
        loop = asyncio.get_running_loop()
        got: list[str] = []
        async with asyncio.timeout(WAIT):
            while True:
                got.append((await loop.sock_recv(self.sock, 4096)).decode())
                self.seen.append(got[-1])
                if wanted in got[-1].splitlines():
                    return got


def logged(log_file: Path) -> list[str]:
    return [json.loads(line)["message"] for line in log_file.read_text().splitlines()]


async def test_run_under_systemd_notify_reload_and_stop(
    miniircd: IrcServer, tmp_path: Path
) -> None:
    config = tmp_path / "config.yaml"
    write_config(config, miniircd, "[alice]")
    listener = Listener(tmp_path / "notify")
    log_file = tmp_path / "bot.log"
    bob = await IrcUser.connect(miniircd.host, miniircd.port, "bob", timeout=WAIT)
    await bob.join(CHANNEL)
    env = {**os.environ, "NOTIFY_SOCKET": str(listener.path), "WATCHDOG_USEC": "200000"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run", "-c", str(config),
        "--log-format", "json", "--log-file", str(log_file), env=env,
    )  # fmt: skip
    try:
        await listener.until("READY=1")
        # READY comes once the bot is in the channel (bob may see the JOIN a moment
        # later: another socket), and watchdog pings follow while all is well
        await bob.wait_event("join", lambda e: e.source.nick == NICK, timeout=WAIT)
        await listener.until("WATCHDOG=1")
        await listener.until("WATCHDOG=1")

        bob.say(CHANNEL, "!deploy start pkgdb2")
        await bob.expect(r"admins", sender=NICK, timeout=WAIT)

        write_config(config, miniircd, "[alice, bob]")
        proc.send_signal(signal.SIGHUP)
        assert "RELOADING=1" in (await listener.until("READY=1"))[0]
        bob.say(CHANNEL, "!deploy start pkgdb2")
        await bob.expect(r"deploy pkgdb2 started by bob", sender=NICK, timeout=WAIT)

        config.write_text("admins: [\n")
        proc.send_signal(signal.SIGHUP)
        await listener.until("READY=1")
        bob.say(CHANNEL, "!deploy end")  # the old config stays: bob is still an admin
        await bob.expect(r"deploy pkgdb2 ended", sender=NICK, timeout=WAIT)

        proc.send_signal(signal.SIGTERM)
        await listener.until("STOPPING=1")
        async with asyncio.timeout(WAIT):
            assert await proc.wait() == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await bob.quit()
        listener.sock.close()
    lines = logged(log_file)
    assert lines[0] == f"{config}: networks.local.identify_by: auto: people are identified by " \
        "services account if the server tracks accounts, else by nick (check-config " \
        "--connect says which); anyone can take a free nick, admins' included (README, " \
        '"Identity")'  # fmt: skip
    start = next(i for i, line in enumerate(lines) if line.startswith("deployday started"))
    assert sum("identify_by" in line for line in lines[:start]) == 1  # warnings print once
    assert sum(line.startswith("local: registered as") for line in lines) == 1  # no reconnect
    assert any(line.startswith("deployday started: version ") for line in lines)
    # READY=1 is sent with this line, after the channel was joined
    assert lines.index(f"local: joined {CHANNEL}") < lines.index("every network joined: local")
    assert "config reloaded" in lines
    refused = [line for line in lines if line.startswith("config not reloaded")]
    assert len(refused) == 1 and "the running one stays" in refused[0]
    assert lines[-1].startswith("deployday stopped (SIGTERM) after ")


async def test_check_config_connect_says_one_line_each(miniircd: IrcServer, tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    write_config(config, miniircd, "[alice]")
    done = await _deployday("check-config", "--connect", "-c", str(config))
    assert done[0] == 0, done[2]
    assert done[1].splitlines()[1:] == [
        "database: opened (sqlite); migrations to apply (run applies them)",
        f"networks.local: {miniircd.host}:{miniircd.port}: registered as {NICK}; account "
        "tracking not offered, so people are identified by nick",
    ]
    config.write_text(config.read_text().replace(str(miniircd.port), str(free_port())))
    status, _, err = await _deployday("check-config", "--connect", "-c", str(config))
    assert status == 1
    assert err.splitlines()[-1] == (
        "networks.local: connection refused; is the server running and the port right?"
    )


async def _deployday(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    async with asyncio.timeout(WAIT * 2):
        out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


class Records(logging.Handler):
    """The transport's log, and a way to wait for a line."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.changed = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.changed.set()

    async def until(self, count: int, text: str) -> None:
        async with asyncio.timeout(WAIT):
            while sum(text in r.getMessage() for r in self.records) < count:
                self.changed.clear()
                await self.changed.wait()


async def test_an_unreachable_server_is_logged_once_per_outage(
    private_ircd: Callable[..., IrcServer],
) -> None:
    server = private_ircd()
    server.stop()
    settings = {
        "kind": "irc", "host": server.host, "port": server.port, "tls": False,
        "nick": "outagebot", "channels": ["#outage"],
        "reconnect": {"min_delay": 0.02, "max_delay": 0.1},
    }  # fmt: skip
    transport = IrcTransport(
        "local", IrcNetworkConfig.model_validate(settings), clock=FakeClock(), tz=UTC
    )
    records = Records()
    logger = logging.getLogger("bot.transports")
    logger.addHandler(records)
    old_level = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        await transport.start(lambda message: asyncio.sleep(0))
        await records.until(3, "still unreachable")
        server.start()
        async with asyncio.timeout(WAIT):
            await transport.wait_ready()
        await records.until(1, "reached again")
    finally:
        await transport.stop()
        logger.removeHandler(records)
        logger.setLevel(old_level)
    warnings = [r.getMessage() for r in records.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].startswith(
        f"local: cannot connect to {server.host}:{server.port}: connection refused; retrying in"
    )
    assert warnings[0].endswith("then at most every 0.1s until it answers")


def test_the_systemd_unit_verifies(tmp_path: Path) -> None:
    analyze = which("systemd-analyze")
    need("systemd-analyze", analyze is not None, "apt-get install systemd")
    assert analyze is not None
    unit = (ROOT / "systemd" / "deployday.service").read_text()
    for key in (
        "Type=notify",
        "WatchdogSec=",
        "DynamicUser=yes",
        "StateDirectory=",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "ExecReload=/bin/kill -HUP",
    ):
        assert key in unit  # fmt: skip
    installed = str(Path(sys.executable).with_name("deployday"))
    (tmp_path / "deployday.service").write_text(
        unit.replace("/opt/deployday/bin/deployday", installed)
    )
    done = subprocess.run(
        [analyze, "verify", str(tmp_path / "deployday.service")],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


async def test_check_config_connect_logs_in_to_matrix_and_out_again(
    synapse: Homeserver, monkeypatch: pytest.MonkeyPatch
) -> None:
    localpart = synapse.unique("probe")
    user_id = await synapse.register(localpart, "right-password")
    net = MatrixNetworkConfig(
        kind="matrix",
        homeserver=synapse.url,
        user_id=user_id,
        password_env="PROBE_PASSWORD",
        rooms=("#nowhere:example.org",),
    )
    monkeypatch.setenv("PROBE_PASSWORD", "right-password")
    assert await probe_matrix(net) == f"{synapse.url}: logged in as {user_id} (and out again)"
    monkeypatch.setenv("PROBE_PASSWORD", "wrong")
    with pytest.raises(ProbeFailed, match=f"refused the login as {user_id}"):
        await probe_matrix(net)
