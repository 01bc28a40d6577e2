"""`deployday console` on a real terminal (a pseudo-terminal): readline's line editing and
history, kept between sessions; a reply that arrives while a line is half typed prints
above the prompt and the typed text is drawn again. Every wait ends on what the terminal
shows; the timeouts only bound a broken test."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

WAIT = 60.0  # generous: a loaded CI machine must not fail a test by being slow
PROMPT = b"deployday> "

# A console on a fake sink: each line typed is answered "got: LINE"; SIGUSR1 makes the
# bot say something unprompted, as an announcement or a reminder would.
LATE_REPLY = """
import asyncio, signal
from bot.clock import SystemClock
from bot.messages import Reply
from bot.transports.console import ROOM, ConsoleTransport

async def main():
    done = asyncio.Event()
    console = ConsoleTransport("op", SystemClock(), done.set)
    async def sink(message):
        await console.send(ROOM, Reply.of(f"got: {message.text}"))
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(
        signal.SIGUSR1, lambda: loop.create_task(console.send(ROOM, Reply.of("late news")))
    )
    await console.start(sink)
    await done.wait()
    await console.stop()

asyncio.run(main())
"""


class Terminal:
    """The far side of a pseudo-terminal that a process runs on."""

    def __init__(self, pid: int, fd: int) -> None:
        self.pid = pid
        self.fd = fd
        self.seen = b""
        self.closed = False
        self.status: int | None = None

    def type(self, keys: bytes) -> None:
        os.write(self.fd, keys)

    def _read(self, deadline: float) -> None:
        left = deadline - time.monotonic()
        assert left > 0, f"timed out; the terminal shows {self.seen!r}"
        ready, _, _ = select.select([self.fd], [], [], left)
        if ready:
            try:
                data = os.read(self.fd, 4096)
            except OSError:  # EIO: the process closed the terminal (it exited)
                data = b""
            self.seen += data
            self.closed = not data

    def wait_for(self, text: bytes, times: int = 1) -> bytes:
        """Everything shown so far, once `text` is among it (`times` times)."""
        deadline = time.monotonic() + WAIT
        while self.seen.count(text) < times:
            assert not self.closed, f"{text!r} never showed: {self.seen!r}"
            self._read(deadline)
        return self.seen

    def exit_status(self) -> int:
        """Once the process has closed the terminal: how it exited."""
        deadline = time.monotonic() + WAIT
        while not self.closed:
            self._read(deadline)
        self.status = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
        return self.status


@contextmanager
def terminal(argv: list[str], cwd: Path, env: dict[str, str]) -> Iterator[Terminal]:
    pid, fd = pty.fork()
    if pid == 0:  # the child: its stdin and stdout are the terminal
        os.chdir(cwd)
        os.execve(argv[0], argv, {**os.environ, "NO_COLOR": "1", **env})
    term = Terminal(pid, fd)
    try:
        yield term
    finally:
        if term.status is None:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(fd)


def test_arrows_recall_history_and_it_is_kept_between_sessions(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text("database: sqlite:///t.sqlite3\n")
    argv = [str(Path(sys.executable).with_name("deployday")), "console", "-c", "c.yaml"]
    env = {"XDG_STATE_HOME": str(tmp_path / "state")}
    answer = b"no deploy is under way"
    with terminal(argv, tmp_path, env) as term:
        term.wait_for(PROMPT)
        term.type(b"!deploy\r")
        term.wait_for(answer)
        term.type(b"\x1b[A\r")  # Up, Enter: the same command again, not "^[[A"
        assert b"^[[A" not in term.wait_for(answer, times=2)
        term.type(b"\x04")  # Ctrl-D ends the session
        assert term.exit_status() == 0
    history = tmp_path / "state" / "deployday" / "console_history"
    assert history.read_text().splitlines()[-1] == "!deploy"
    with terminal(argv, tmp_path, env) as term:
        term.wait_for(PROMPT)
        term.type(b"\x1b[A\r")  # the last session's command
        term.wait_for(answer)
        term.type(b"\x04")
        assert term.exit_status() == 0


def test_a_late_reply_prints_above_the_half_typed_line(tmp_path: Path) -> None:
    argv = [sys.executable, "-c", LATE_REPLY]
    with terminal(argv, tmp_path, {"XDG_STATE_HOME": str(tmp_path)}) as term:
        term.wait_for(PROMPT)
        term.type(b"!note 1 half")
        term.wait_for(PROMPT + b"!note 1 half")
        os.kill(term.pid, signal.SIGUSR1)
        # the edited line is cleared, the news printed, the prompt and text drawn again
        term.wait_for(b"\r\x1b[Klate news\r\n" + PROMPT + b"!note 1 half")
        term.type(b" typed on\r")
        term.wait_for(b"got: !note 1 half typed on")
        term.type(b"\x04")
        assert term.exit_status() == 0


def test_piped_input_needs_no_terminal(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text("database: sqlite:///t.sqlite3\n")
    done = subprocess.run(
        [str(Path(sys.executable).with_name("deployday")), "console", "-c", "c.yaml"],
        input="!deploy\n\n!oncall\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "no deploy is under way; an admin starts one with !deploy start <name> [--api-break] "
        "[description]",
        "nobody is on duty; !checkin <team> to go on duty",
    ]
    assert not (tmp_path / "state").exists()  # no history kept for piped input
