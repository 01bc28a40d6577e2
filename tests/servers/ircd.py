"""Real IRC servers for the server tier, each started once per session on a free loopback
port: miniircd (tiny, no IRCv3), ngircd (strict line limits) and InspIRCd linked to Atheme
services (IRCv3, accounts and SASL). `private_ircd` starts throwaway instances for tests
that stop, restart or freeze their server."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.devtools.ircuser import IrcUser
from tests.servers.support import (
    IS_ROOT,
    Server,
    as_user,
    free_port,
    need,
    server_dir,
    tcp_open,
    which,
)

__all__ = ["IrcServer", "inspircd", "irc_server", "miniircd", "ngircd", "private_ircd"]

HOST = "127.0.0.1"

NGIRCD_CONF = """\
[Global]
	Name = irc.test.local
	Info = deployday test ircd
	Listen = 127.0.0.1
	Ports = @PORT@
	MotdPhrase = "test server"

[Limits]
	MaxConnectionsIP = 0
	MaxNickLength = 30
	MaxJoins = 0
	PingTimeout = 120
	PongTimeout = 20
	# 0 = no per-command penalty (flood throttling)
	MaxPenaltyTime = 0

[Options]
	DNS = no
	Ident = no
	PAM = no
	IncludeDir = @DIR@/conf.d
"""

INSPIRCD_CONF = """\
<server name="irc.test.local" description="deployday test ircd" network="TestNet">
<admin name="admin" nick="admin" email="admin@test.local">
<path configdir="@DIR@" datadir="@DIR@/data"
      logdir="@DIR@/logs" moduledir="/usr/lib/inspircd/modules">
<pid file="@DIR@/data/inspircd.pid">
<log method="file" type="* -USERINPUT -USEROUTPUT" level="default" target="ircd.log">
<bind address="127.0.0.1" port="@PORT@" type="clients">
<connect name="main" allow="*" timeout="20" pingfreq="120"
         hardsendq="1M" softsendq="1M" recvq="64K"
         threshold="1000" commandrate="100000" fakelag="no"
         localmax="1000" globalmax="1000" limit="5000" maxchans="100"
         resolvehostnames="no" useident="no">
<limits maxnick="30">
<module name="cap">
<module name="ircv3">
<module name="ircv3_accounttag">
<module name="ircv3_batch">
<module name="ircv3_capnotify">
<module name="ircv3_chghost">
<module name="ircv3_ctctags">
<module name="ircv3_echomessage">
<module name="ircv3_invitenotify">
<module name="ircv3_labeledresponse">
<module name="ircv3_msgid">
<module name="ircv3_servertime">
<module name="namesx">
<module name="uhnames">
<module name="monitor">
<module name="services_account">
<module name="sasl">
<sasl target="services.test.local" requiressl="no">
<module name="spanningtree">
<module name="chghost">
<module name="svshold">
<module name="cban">
<module name="hidechans">
<bind address="127.0.0.1" port="@LINKPORT@" type="servers">
<link name="services.test.local" ipaddr="127.0.0.1" port="@LINKPORT@"
      allowmask="127.0.0.1/32" sendpass="linkpass" recvpass="linkpass">
<uline server="services.test.local" silent="yes">
"""

ATHEME_CONF = """\
loadmodule "modules/protocol/inspircd";
loadmodule "modules/backend/opensex";
loadmodule "modules/crypto/pbkdf2v2";
loadmodule "modules/nickserv/main";
loadmodule "modules/nickserv/help";
loadmodule "modules/nickserv/register";
loadmodule "modules/nickserv/identify";
loadmodule "modules/nickserv/logout";
loadmodule "modules/nickserv/info";
loadmodule "modules/nickserv/drop";
loadmodule "modules/nickserv/ghost";
loadmodule "modules/nickserv/status";
loadmodule "modules/nickserv/set_core";
loadmodule "modules/nickserv/set_password";
loadmodule "modules/saslserv/main";
loadmodule "modules/saslserv/plain";

serverinfo {
	name = "services.test.local";
	desc = "Atheme IRC Services";
	numeric = "00A";
	recontime = 2;
	netname = "TestNet";
	hidehostsuffix = "users.test";
	adminname = "admin";
	adminemail = "admin@test.local";
	loglevel = { error; info; admin; network; };
	maxlogins = 100;
	maxusers = 0;
	mdlimit = 30;
	emaillimit = 10;
	emailtime = 300;
	auth = none;
	casemapping = rfc1459;
};

uplink "irc.test.local" {
	host = "127.0.0.1";
	port = @LINKPORT@;
	send_password = "linkpass";
	receive_password = "linkpass";
};

nickserv {
	nick = "NickServ";
	user = "NickServ";
	host = "services.test.local";
	real = "Nickname Services";
	maxnicks = 5;
	expire = 0;
};

saslserv {
	nick = "SaslServ";
	user = "SaslServ";
	host = "services.test.local";
	real = "SASL Authentication Agent";
};

logfile "@DIR@/data/atheme.log" { all; };

general {
	uflags = { hidemail; };
	flood_msgs = 0;
	flood_time = 10;
	kline_time = 7;
	commit_interval = 5;
	default_clone_allowed = 1000;
	default_clone_warn = 1000;
	uplink_sendq_limit = 1048576;
	language = "en";
	immune_level = immune;
};
"""


def _fill(template: str, **values: object) -> str:
    for key, value in values.items():
        template = template.replace(f"@{key}@", str(value))
    return template


def _give_to_nobody(*dirs: Path) -> None:
    for d in dirs:
        d.mkdir(parents=True, exist_ok=True)
        d.chmod(0o755)
        if IS_ROOT:
            shutil.chown(d, "nobody", "nogroup")


def _welcomed(port: int) -> bool:
    """True once a client can register (InspIRCd opens its port ~1 s before that)."""
    try:
        with socket.create_connection((HOST, port), 5) as s:
            s.settimeout(5)
            s.sendall(b"NICK probe\r\nUSER probe 0 * :probe\r\n")
            data = b""
            while b" 001 " not in data:
                chunk = s.recv(4096)
                if not chunk:
                    return False
                data += chunk
            s.sendall(b"QUIT\r\n")
            return True
    except OSError:
        return False


class _Daemon:
    """A server that forks into the background (Atheme): started, then found by PID file."""

    def __init__(
        self,
        cmd: list[str],
        pidfile: Path,
        log: Path,
        ready: Callable[[], bool],
        timeout: float = 30,
    ) -> None:
        self.cmd, self.pidfile, self.log, self.ready, self.timeout = (
            cmd,
            pidfile,
            log,
            ready,
            timeout,
        )

    def start(self) -> _Daemon:
        subprocess.run(
            self.cmd,
            check=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=30,
        )
        deadline = time.monotonic() + self.timeout
        while not self.ready():
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"{self.cmd[0]} not ready after {self.timeout}s; log: {self.log}"
                )
            time.sleep(0.05)
        return self

    def _pid(self) -> int | None:
        try:
            return int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None

    def stop(self) -> None:
        pid = self._pid()
        if pid is None:
            return
        try:
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                os.kill(pid, 0)
                time.sleep(0.05)
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@dataclass
class IrcServer:
    """One running IRC server (and its services, if any) on `host`:`port`."""

    kind: str
    port: int
    directory: Path
    launch: Callable[[IrcServer], list[Server | _Daemon]]
    accounts: bool = False
    password: str | None = None  # server password (PASS), private instances only
    tls: bool = False  # self-signed certificate, private miniircd only
    default_flood: bool = False  # the server's own flood limits instead of lifted ones
    host: str = HOST
    processes: list[Server | _Daemon] = field(default_factory=list)

    def start(self) -> IrcServer:
        self.processes = self.launch(self)
        return self

    def stop(self) -> None:
        if self.processes:
            self.resume()  # a frozen process would ignore SIGTERM
        for process in reversed(self.processes):
            process.stop()
        self.processes = []

    def _ircd_pid(self) -> int:
        ircd = self.processes[0]
        assert isinstance(ircd, Server) and ircd.proc is not None
        return ircd.proc.pid

    def pause(self) -> None:
        """Freeze the server process: its sockets stay open but nothing is answered."""
        os.kill(self._ircd_pid(), signal.SIGSTOP)

    def resume(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self._ircd_pid(), signal.SIGCONT)

    async def register_account(self, name: str, password: str) -> IrcUser:
        """Connect as `name`, register that NickServ account (which also logs in) and
        return the connected, logged-in user."""
        if not self.accounts:
            raise RuntimeError(f"{self.kind} has no services for accounts")
        user = await IrcUser.connect(self.host, self.port, name)
        user.say("NickServ", f"REGISTER {password} {name}@example.org")
        reply = await user.next_message(
            lambda m: m.sender.lower() == "nickserv", timeout=10, notices=True
        )
        if "is now registered" not in reply.text:
            await user.quit()
            raise RuntimeError(f"NickServ refused to register {name}: {reply.text}")
        await user.wait_event("loggedin", timeout=10)
        return user


def _miniircd() -> str | None:
    """The console script next to this Python (a venv not on PATH), else on PATH."""
    beside = Path(sys.executable).parent / "miniircd"
    return str(beside) if beside.exists() else which("miniircd")


def _launch_miniircd(server: IrcServer) -> list[Server | _Daemon]:
    cmd = [_miniircd() or "miniircd", "--listen", HOST, "--ports", str(server.port)]
    if IS_ROOT:
        cmd += ["--setuid", "nobody"]
    if server.password:
        cmd += ["--password", server.password]
    if server.tls:
        pem = server.directory / "server.pem"
        _self_signed(pem)
        cmd += ["--ssl-pem-file", str(pem)]
    return [Server(cmd, server.directory / "miniircd.log", lambda: tcp_open(server.port)).start()]


def _self_signed(pem: Path) -> None:
    """A throwaway certificate and key in one PEM file."""
    need("openssl", bool(which("openssl")), "apt-get install openssl")
    key, cert = pem.with_suffix(".key"), pem.with_suffix(".crt")
    subprocess.run(
        [
            which("openssl") or "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    pem.write_bytes(key.read_bytes() + cert.read_bytes())


def _launch_ngircd(server: IrcServer) -> list[Server | _Daemon]:
    d = server.directory
    _give_to_nobody(d / "conf.d")
    conf = d / "ngircd.conf"
    text = _fill(NGIRCD_CONF, DIR=d, PORT=server.port)
    if server.default_flood:
        text = text.replace("\tMaxPenaltyTime = 0\n", "")
    if server.password:
        text = text.replace("[Limits]", f"\tPassword = {server.password}\n\n[Limits]")
    conf.write_text(text)
    cmd = as_user("nobody", [which("ngircd") or "ngircd", "-n", "-f", str(conf)])
    return [Server(cmd, d / "ngircd.log", lambda: tcp_open(server.port)).start()]


def _launch_inspircd(server: IrcServer) -> list[Server | _Daemon]:
    d = server.directory
    link_port = free_port()
    data = d / "data"
    _give_to_nobody(data, d / "logs")
    (data / "services.db").unlink(missing_ok=True)
    text = _fill(INSPIRCD_CONF, DIR=d, PORT=server.port, LINKPORT=link_port)
    if server.default_flood:
        text = text.replace(' threshold="1000" commandrate="100000" fakelag="no"', "")
        text = text.replace('hardsendq="1M" softsendq="1M" recvq="64K"', "")
    (d / "inspircd.conf").write_text(text)
    (d / "atheme.conf").write_text(_fill(ATHEME_CONF, DIR=d, LINKPORT=link_port))
    ircd = Server(
        as_user(
            "nobody",
            [which("inspircd") or "inspircd", "--nofork", f"--config={d / 'inspircd.conf'}"],
        ),
        d / "inspircd.out",
        lambda: _welcomed(server.port),
    ).start()
    atheme_log = data / "atheme.log"

    def synced() -> bool:
        try:
            return "finished synching with uplink" in atheme_log.read_text(errors="replace")
        except OSError:
            return False

    try:
        services = _Daemon(
            as_user(
                "nobody",
                [
                    which("atheme-services") or "atheme-services",
                    "-c",
                    str(d / "atheme.conf"),
                    "-D",
                    str(data),
                    "-l",
                    str(atheme_log),
                    "-p",
                    str(data / "atheme.pid"),
                ],
            ),
            data / "atheme.pid",
            atheme_log,
            synced,
        ).start()
    except Exception:
        ircd.stop()
        raise
    return [ircd, services]


_LAUNCHERS = {
    "miniircd": (_launch_miniircd, (), "pip install miniircd", False),
    "ngircd": (_launch_ngircd, ("ngircd",), "apt-get install ngircd", False),
    "inspircd": (
        _launch_inspircd,
        ("inspircd", "atheme-services"),
        "apt-get install inspircd atheme-services",
        True,
    ),
}


def _installed(kind: str) -> bool:
    if kind == "miniircd":
        return _miniircd() is not None
    _, binaries, _, _ = _LAUNCHERS[kind]
    return all(which(b) for b in binaries)


def _start(
    kind: str, *, password: str | None = None, tls: bool = False, default_flood: bool = False
) -> IrcServer:
    launch, _, how, accounts = _LAUNCHERS[kind]
    need(kind, _installed(kind), how)
    if tls and kind != "miniircd":
        raise ValueError("TLS test servers are miniircd only")
    server = IrcServer(
        kind,
        free_port(),
        server_dir(kind),
        launch,
        accounts=accounts,
        password=password,
        tls=tls,
        default_flood=default_flood,
    )
    return server.start()


def _run(kind: str) -> Iterator[IrcServer]:
    server = _start(kind)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.directory, ignore_errors=True)


@pytest.fixture(scope="session")
def miniircd() -> Iterator[IrcServer]:
    yield from _run("miniircd")


@pytest.fixture(scope="session")
def ngircd() -> Iterator[IrcServer]:
    yield from _run("ngircd")


@pytest.fixture(scope="session")
def inspircd() -> Iterator[IrcServer]:
    """InspIRCd with Atheme: accounts via NickServ, SASL PLAIN, account-tag."""
    yield from _run("inspircd")


@pytest.fixture(scope="session", params=["miniircd", "ngircd", "inspircd"])
def irc_server(request: pytest.FixtureRequest) -> IrcServer:
    """Each IRC server in turn (for tests that must hold on all of them)."""
    server = request.getfixturevalue(request.param)
    assert isinstance(server, IrcServer)
    return server


@pytest.fixture
def private_ircd() -> Iterator[Callable[..., IrcServer]]:
    """Start servers for one test only: tests that stop or freeze them, or need a server
    password (`password=`), TLS (`tls=True`, miniircd) or the server's own flood limits
    (`default_flood=True`)."""
    started: list[IrcServer] = []

    def start(
        kind: str = "miniircd",
        *,
        password: str | None = None,
        tls: bool = False,
        default_flood: bool = False,
    ) -> IrcServer:
        server = _start(kind, password=password, tls=tls, default_flood=default_flood)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
        shutil.rmtree(server.directory, ignore_errors=True)


async def raw_privmsg(server: IrcServer, nick: str, target: str, payload: bytes) -> None:
    """A client that sends bytes as they are: Latin-1 rather than UTF-8, or a line cut
    inside a character as a server may relay it (the library would encode)."""
    reader, writer = await asyncio.open_connection(server.host, server.port)
    try:
        writer.write(f"NICK {nick}\r\nUSER {nick} 0 * :{nick}\r\n".encode())
        async with asyncio.timeout(10):
            while b" 001 " not in (line := await reader.readline()):
                if not line:
                    raise ConnectionError(f"{nick}: closed before registration")
        if target.startswith("#"):
            writer.write(f"JOIN {target}\r\n".encode())
        writer.write(b"PRIVMSG " + target.encode() + b" :" + payload + b"\r\nQUIT\r\n")
        await writer.drain()
    finally:
        writer.close()
