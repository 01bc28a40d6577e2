"""Secrets never reach a log, at any level. The `irc` library logs every line it sends at
DEBUG, `PASS <password>` and `AUTHENTICATE <base64 of the SASL credentials>` included,
and a library may put a token in an error message; so every log record is scrubbed as it
is made: those commands' arguments and every secret the bot was given (server and SASL
passwords, Matrix passwords and access tokens, the mail password) become `***`, in the
message and in any traceback, whichever handler later writes it.

`install()` turns the scrubbing on for the process; `keep_secret()` registers a value
where the bot reads it."""

from __future__ import annotations

import logging
import re
from typing import Any

HIDDEN = "***"
# The two IRC commands that carry credentials; "AUTHENTICATE PLAIN" and "+" carry none.
_PROTOCOL = re.compile(r"\b(PASS|AUTHENTICATE) +:?(?!PLAIN\b|\+(?:\s|$))[^\s'\"]+")
_secrets: set[str] = set()


def keep_secret(value: str | None) -> str | None:
    """Remember `value` as a secret that logs must never show; returns it unchanged."""
    if value and len(value) >= 4:  # shorter ones would blank out ordinary words
        _secrets.add(value)
    return value


def redact(text: str) -> str:
    text = _PROTOCOL.sub(lambda m: f"{m[1]} {HIDDEN}", text)
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, HIDDEN)
    return text


def _scrub(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # arguments that do not fit: logging reports that itself, later
        return
    hidden = redact(message)
    if hidden != message:
        record.msg, record.args = hidden, None
    if record.exc_info:
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))


_installed = False


def install() -> None:
    """Scrub every log record this process makes from now on (safe to call again)."""
    global _installed
    if _installed:
        return
    _installed = True
    make = logging.getLogRecordFactory()

    def scrubbed(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        _scrub(record)
        return record

    logging.setLogRecordFactory(scrubbed)
