"""Mail that features send through the core `mail:` server, and what became of it, in
one line fit for the person who asked or a terminal."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.config import Config
from bot.mail import Mailer, MailError

log = logging.getLogger(__name__)

NOT_CONFIGURED = "not mailed: the config has no `mail:` section"


@dataclass(frozen=True, slots=True)
class Mailed:
    line: str  # "mailed to …", or why not
    ok: bool


async def send_mail(
    config: Config, to: Sequence[str], subject: str, body: str, now: datetime, what: str
) -> Mailed:
    """Deliver or say why not; a failure is logged with `what` was being mailed. Without
    a `mail:` section nothing is tried (each feature says so once in the log at start)."""
    if config.mail is None:
        return Mailed(NOT_CONFIGURED, False)
    try:
        await Mailer(config.mail).send(to, subject, body, now)
    except MailError as exc:
        log.warning("%s: %s", what, exc)
        return Mailed(str(exc), False)
    return Mailed(f"mailed to {', '.join(to)}", True)
