"""Sending mail through the SMTP server in the core `mail:` section. Generic on purpose:
plugins decide who gets what; this module only delivers text and says plainly why it
could not."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from bot.config import MailConfig
from bot.redact import keep_secret

# The email package and aiosmtplib are imported when a message is made, not here: every
# start would pay ~20 ms and megabytes for them, and most bots never send mail.
if TYPE_CHECKING:
    from email.message import EmailMessage

log = logging.getLogger(__name__)


class MailError(Exception):
    """Mail was not sent; the message is one line fit to show in chat or on a terminal."""


class Mailer:
    def __init__(self, config: MailConfig | None) -> None:
        self.config = config

    def message(self, to: Sequence[str], subject: str, body: str, now: datetime) -> EmailMessage:
        """A plain-text UTF-8 message; `now` comes from the bot's clock, not the host's."""
        if self.config is None:
            raise MailError("mail is not configured; add a `mail:` section to the config")
        from email.message import EmailMessage
        from email.utils import format_datetime, make_msgid

        msg = EmailMessage()
        msg["From"] = self.config.from_address
        msg["To"] = ", ".join(to)
        msg["Subject"] = subject
        msg["Date"] = format_datetime(now)
        msg["Message-ID"] = make_msgid(domain=self.config.from_address.rpartition("@")[2])
        msg.set_content(body)
        return msg

    async def send(self, to: Sequence[str], subject: str, body: str, now: datetime) -> None:
        """Deliver to every address in `to`, or raise MailError saying why not."""
        if not to:
            raise MailError("no recipients to mail")
        msg = self.message(to, subject, body, now)
        cfg = self.config
        assert cfg is not None
        password = None
        if cfg.password_env:
            password = keep_secret(os.environ.get(cfg.password_env))
            if password is None:
                raise MailError(
                    f"mail not sent: environment variable {cfg.password_env} is not set"
                )
        where = f"{cfg.host}:{cfg.port}"
        import aiosmtplib

        try:
            errors, _ = await aiosmtplib.send(
                msg,
                hostname=cfg.host,
                port=cfg.port,
                username=cfg.username,
                password=password,
                use_tls=cfg.security == "tls",
                start_tls=cfg.security == "starttls",
                timeout=cfg.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refused = ", ".join(r.recipient for r in exc.recipients)
            raise MailError(f"mail not sent: {where} refused {refused}") from None
        except aiosmtplib.SMTPResponseException as exc:
            raise MailError(
                f"mail not sent: {where} answered {exc.code} {_one_line(exc.message)}"
            ) from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise MailError(
                f"mail not sent: cannot talk to {where}: {_one_line(str(exc))}"
            ) from None
        if errors:
            refused = ", ".join(sorted(errors))
            log.warning("mail to %s refused by %s: %s", refused, where, errors)
            raise MailError(f"mail sent, but {where} refused {refused}")


def _one_line(text: str) -> str:
    return " ".join(text.split())[:200]
