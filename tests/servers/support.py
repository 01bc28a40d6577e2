"""Starting and stopping real server processes for the real-server tier.

A server that is not installed skips its tests on a developer machine; with
DEPLOYDAY_REQUIRE_SERVERS=1 (set by .ci/run) it fails them instead.
"""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

IS_ROOT = os.geteuid() == 0
REQUIRED = os.environ.get("DEPLOYDAY_REQUIRE_SERVERS") == "1"


def need(what: str, available: bool, how: str) -> None:
    """Skip (or, in CI, fail) when a server the test needs is missing."""
    if available:
        return
    message = f"{what} is not available: {how}"
    if REQUIRED:
        pytest.fail(message + " (DEPLOYDAY_REQUIRE_SERVERS=1)", pytrace=False)
    pytest.skip(message)


def which(*names: str) -> str | None:
    for name in names:
        found = shutil.which(name) or next(
            (str(p) for d in ("/usr/sbin", "/usr/bin") if (p := Path(d) / name).exists()), None
        )
        if found:
            return found
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_dir(prefix: str) -> Path:
    """A world-traversable directory (pytest's tmp_path is 0700, which unprivileged
    server users such as nobody or postgres cannot enter)."""
    d = Path(tempfile.mkdtemp(prefix=f"deployday-{prefix}-"))
    d.chmod(0o755)
    return d


def as_user(user: str, cmd: list[str]) -> list[str]:
    if not IS_ROOT:
        return cmd
    group = "nogroup" if user == "nobody" else user
    groups = "--clear-groups" if user == "nobody" else "--init-groups"
    return ["setpriv", f"--reuid={user}", f"--regid={group}", groups, *cmd]


def tcp_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), 0.2).close()
        return True
    except OSError:
        return False


class Server:
    """One server process started in its own session, stopped by PID."""

    def __init__(
        self,
        cmd: list[str],
        log: Path,
        ready: Callable[[], bool],
        timeout: float = 60,
        stop_signal: int = signal.SIGTERM,
    ) -> None:
        self.cmd, self.log, self.ready = cmd, log, ready
        self.timeout, self.stop_signal = timeout, stop_signal
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Server:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                self.cmd,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + self.timeout
        while not self.ready():
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.cmd[0]} exited with {self.proc.returncode}; "
                    f"log: {self.log}\n{self.tail()}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"{self.cmd[0]} not ready after {self.timeout}s; log: {self.log}"
                )
            time.sleep(0.02)
        return self

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(self.stop_signal)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


async def run_bot(
    config: Path,
    *,
    env: dict[str, str] | None = None,
    capture: bool = True,
    log_level: str = "WARNING",
    log: Path | None = None,
) -> asyncio.subprocess.Process:
    """`deployday run -c CONFIG` as a real process (stderr kept when `capture`, for the
    assertion message of a test that expects a clean exit; written to `log` instead when
    given, for logs too long to sit in a pipe)."""
    if log is None:
        stderr = asyncio.subprocess.PIPE if capture else asyncio.subprocess.DEVNULL
        return await _run_bot(config, env, log_level, stderr)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        return await _run_bot(config, env, log_level, fd)
    finally:
        os.close(fd)  # the bot has its own copy


async def _run_bot(
    config: Path, env: dict[str, str] | None, log_level: str, stderr: int
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "--log-level",
        log_level,
        "run",
        "-c",
        str(config),
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=stderr,
    )


async def run_cli(
    *args: str,
    stdin: str = "",
    timeout: float = 60.0,  # noqa: ASYNC109 - a hung tool must not hang the test
    umask: int | None = None,
) -> tuple[int, str, str]:
    """`deployday ARGS…` as a real process with `stdin` piped in: (exit code, stdout,
    stderr). `umask`: the one it starts with, as a user's shell would give it."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        preexec_fn=None if umask is None else lambda: os.umask(umask),
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin.encode()), timeout)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def postgres_binaries() -> str | None:
    """The directory of Debian's newest PostgreSQL server binaries, if installed."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return os.path.dirname(found[-1]) if found else None


@contextmanager
def postgres_cluster(pgbin: str, prefix: str = "pg") -> Iterator[str]:
    """A throwaway PostgreSQL cluster on a free loopback port (fsync off: nothing here
    needs to survive a crash), removed afterwards. Yields its admin URL."""
    d = server_dir(prefix)
    if IS_ROOT:
        shutil.chown(d, "postgres", "postgres")
    subprocess.run(
        as_user(
            "postgres",
            [
                f"{pgbin}/initdb",
                "-D",
                f"{d}/data",
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ],
        ),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    port = free_port()

    def ready() -> bool:
        probe = [f"{pgbin}/pg_isready", "-q", "-h", "127.0.0.1", "-p", str(port)]
        return subprocess.run(probe, check=False).returncode == 0

    cmd = [f"{pgbin}/postgres", "-D", f"{d}/data", "-p", str(port)]
    for setting in (
        "listen_addresses=127.0.0.1",
        f"unix_socket_directories={d}",
        "fsync=off",
        "synchronous_commit=off",
        "full_page_writes=off",
        "max_connections=200",
    ):
        cmd += ["-c", setting]
    server = Server(
        as_user("postgres", cmd), d / "pg.log", ready, stop_signal=signal.SIGINT
    ).start()
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        server.stop()
        shutil.rmtree(d, ignore_errors=True)
