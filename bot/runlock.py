"""One `deployday run` per SQLite database. The running bot holds an exclusive lock
(`flock`) on a file beside the database for as long as it runs, so a second `run` on the
same file refuses to start instead of answering every command a second time; the
operating system lets go of the lock when the process dies, even by `kill -9`.

The lock file also says which networks the running bot serves: `deployday console` and
the other command-line tools on that database read it to hand their announcements over
through the relay table (bot.relay), and leave scheduled jobs to the running bot.
Several instances on one database coordinate through leases instead (PostgreSQL, or
`coordination.lease: true`)."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from dataclasses import dataclass
from pathlib import Path

from bot.errors import StartupError


@dataclass(frozen=True, slots=True)
class Runner:
    """The process running the bot on a database, as its lock file describes it."""

    pid: int | None
    networks: frozenset[str]


class RunLock:
    def __init__(self, database: Path, mode: int = 0o600) -> None:
        self.database = database
        self.path = database.with_name(database.name + ".lock")
        self._mode = mode
        self._fd: int | None = None

    def acquire(self, networks: list[str]) -> None:
        """Hold the lock while this process runs, or StartupError naming who has it."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, self._mode)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            runner = self.runner()
            who = f" (pid {runner.pid})" if runner and runner.pid else ""
            raise StartupError(
                f"another deployday{who} is already running on {self.database}; stop it "
                'first (several instances need PostgreSQL: README, "Running more than one '
                'instance")'
            ) from None
        os.fchmod(fd, self._mode)
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "networks": sorted(networks)}).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the only descriptor drops the lock
            self._fd = None

    def runner(self) -> Runner | None:
        """The other process running the bot on this database now, if any."""
        if self._fd is not None:
            return None
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return _described(os.read(fd, 65_536))
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        finally:
            os.close(fd)


def _described(content: bytes) -> Runner:
    """What the lock file says; a running bot's networks, or none if unreadable."""
    with contextlib.suppress(ValueError, TypeError, KeyError, AttributeError):
        data = json.loads(content)
        return Runner(int(data["pid"]), frozenset(str(n) for n in data["networks"]))
    return Runner(None, frozenset())


class Unopposed:
    """Scheduled jobs run here only while no `deployday run` of another process serves
    the database (the console runs them when the bot does not)."""

    def __init__(self, lock: RunLock) -> None:
        self._lock = lock

    @property
    def held(self) -> bool:
        return self._lock.runner() is None
