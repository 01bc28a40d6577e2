"""Where the log goes and how it reads: text for people, one JSON object a line for log
collectors; stderr, or a file that logrotate may move away (it is reopened when moved)."""

from __future__ import annotations

import json
import logging
import logging.handlers
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from bot import redact
from bot.errors import StartupError, reason

LogFormat = Literal["text", "json"]
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_OURS = "deployday"


class JsonFormatter(logging.Formatter):
    """One object a line: time (UTC, ISO 8601), level, logger, message, and the traceback
    as `exc` when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:  # scrubbed of secrets when the record was made (bot.redact)
            entry["exc"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(level: str, fmt: LogFormat = "text", file: Path | None = None) -> None:
    """Replace the handler an earlier call installed (main may run more than once in a
    process, as the tests do), so every record is written exactly once."""
    if file is None:
        handler: logging.Handler = logging.StreamHandler(sys.stderr)
    else:
        try:
            handler = logging.handlers.WatchedFileHandler(file, encoding="utf-8")
        except OSError as exc:
            raise StartupError(f"--log-file: cannot write {file}: {reason(exc)}") from None
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    handler.set_name(_OURS)
    root = logging.getLogger()
    for old in root.handlers[:]:
        if old.get_name() == _OURS:
            root.removeHandler(old)
            old.close()
    root.addHandler(handler)
    root.setLevel(level)
    redact.install()
    logging.getLogger("alembic").setLevel(logging.WARNING if level != "DEBUG" else level)
    logging.captureWarnings(True)
