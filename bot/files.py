"""Who may read what the bot writes. The database holds the Matrix access token, digests and
exports hold the day's incidents: every file the bot creates is owner-only (0600,
directories 0700), or group-readable with `file_mode: group` (0640 and 0750), whatever
the umask it was started with."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

FileMode = Literal["owner", "group"]


@dataclass(frozen=True, slots=True)
class Modes:
    file: int
    directory: int

    @property
    def umask(self) -> int:
        """The umask under which everything created gets at most these modes."""
        return 0o777 & ~self.directory

    @classmethod
    def of(cls, setting: FileMode) -> Modes:
        return GROUP if setting == "group" else OWNER


OWNER = Modes(0o600, 0o700)
GROUP = Modes(0o640, 0o750)


def make_directory(path: Path, modes: Modes) -> Path:
    """`path` and its missing parents, each created with `modes.directory`; directories
    that exist already are left as their owner made them."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for directory in reversed(missing):
        directory.mkdir(exist_ok=True)
        directory.chmod(modes.directory)
    path.mkdir(exist_ok=True)  # a file in the way: FileExistsError, as mkdir says
    return path


def restrict(path: Path, modes: Modes) -> None:
    """Give an existing file `modes.file` (files made under an older, looser setting)."""
    if path.exists() and (path.stat().st_mode & 0o777) != modes.file:
        path.chmod(modes.file)


def create(path: Path, modes: Modes) -> None:
    """Create `path` empty with `modes.file` unless it exists, then `restrict` it: a file
    another program opens (SQLite) is never world-readable, not even for a moment."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, modes.file)
    except FileExistsError:
        pass
    else:
        os.close(fd)
    restrict(path, modes)
