"""Writing files people open elsewhere (digests, exports): where they go, all or nothing
on disk, and text that cannot break the table it sits in or run as a spreadsheet formula."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

from sqlalchemy.engine import make_url

from bot.commands import UserError
from bot.config import Config
from bot.files import Modes, make_directory

_UNSAFE_NAME = re.compile(r"[^a-z0-9._-]+")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NEWLINES = re.compile(r"\r\n|\r|\n")
# What Markdown (GitHub's, with its extensions) would turn into a link or an image: link
# and image brackets, and the starts of bare URLs (scheme:// and www.).
_LINK_SYNTAX = re.compile(r"[\[\]]|:(?=//)|(?<=www)\.", re.IGNORECASE)
# Anything `md_cell` changes: most cells (numbers, names, durations) have none of it.
_MD_UNSAFE = re.compile(r"[\\|&<>\[\]\r\n]|:(?=//)|(?<=www)\.", re.IGNORECASE)


@contextlib.contextmanager
def atomic_text(path: Path, modes: Modes) -> Iterator[TextIO]:
    """Write `path` through a temporary file beside it, renamed into place only when the
    block finished: readers never see half a file, and a failure leaves nothing behind.
    The file gets `modes.file` (bot.files: owner-only unless `file_mode: group`).
    Problems with the path become one UserError line."""
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        tmp.chmod(modes.file)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def data_directory(config: Config, configured: str | None, default: str) -> Path:
    """A configured path (relative to the config file), else `default` beside the SQLite
    database, or beside the config file for other databases."""
    if configured:
        path = Path(configured).expanduser()
        return path if path.is_absolute() else config.base_dir / path
    url = make_url(config.database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).resolve().parent / default
    return config.base_dir / default


def ensure_directory(directory: Path, modes: Modes) -> Path:
    """`directory`, created (with its missing parents) with `modes.directory`."""
    try:
        make_directory(directory, modes)
    except OSError as exc:
        raise UserError(f"cannot create directory {directory}: {exc.strerror or exc}") from None
    return directory


def file_stem(*parts: str) -> str:
    """A file name from user-chosen words (deploy names): no paths, no dot-files."""
    joined = "-".join(_UNSAFE_NAME.sub("_", p.lower()) for p in parts if p)
    return joined.lstrip(".-_") or "deployday"


def stamp(when: datetime) -> str:
    """UTC, sortable, safe in file names: 20261125T160000Z."""
    return when.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def iso(when: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, as every export and JSON digest writes times."""
    if when is None:
        return None
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def seconds(delta: timedelta | float | None) -> int | float | None:
    """A duration as exports and JSON digests write it: seconds to the millisecond, whole
    seconds as an int."""
    if delta is None:
        return None
    value = round(delta.total_seconds() if isinstance(delta, timedelta) else delta, 3)
    return int(value) if value.is_integer() else value


def md_cell(value: object) -> str:
    """Text safe inside a Markdown table cell, list item or heading: backslashes and pipes
    escaped, line breaks as <br>, no raw HTML (so no <http://…> autolink either), and
    nothing that becomes a link or an image: `[x](http://evil)`, `![img](…)`, and bare
    URLs (kept as text, the `:` of `://` and the `.` of `www.` escaped). Rendered, it
    reads as typed."""
    if value is None:
        return ""
    s = str(value)
    if _MD_UNSAFE.search(s) is None:
        return s
    s = s.replace("\\", "\\\\").replace("|", "\\|")
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    s = _LINK_SYNTAX.sub(lambda m: "\\" + m[0], s)
    return _NEWLINES.sub("<br>", s)


def csv_cell(value: object) -> str:
    """A spreadsheet never runs a cell as a formula: text starting with = + - @ tab or CR
    gets a leading quote (OWASP's CSV injection advice)."""
    if value is None:
        return ""
    s = str(value)
    return "'" + s if s.startswith(_FORMULA_START) else s
