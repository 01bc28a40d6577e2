"""Emoji (SAS) verification of the bot's device, the interactive kind matrix-nio 0.26
implements: a to-device `m.key.verification.start` from the other device, then accept,
key, MAC. (The `m.key.verification.request`/`ready` handshake modern Element starts with,
and cross-signing, are not in nio: README, "End-to-end encryption".)

The bot cannot look at emoji. It takes part only when the request comes from a device of
a Matrix ID listed in `admins`, writes the emoji to its log, and confirms its side by
itself: the admin's comparison (their client against that log line) is the real check,
and their "They match" completes it. Both devices then hold each other as verified.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from nio import (
    AsyncClient,
    KeyVerificationCancel,
    KeyVerificationKey,
    KeyVerificationMac,
    KeyVerificationStart,
)
from nio.exceptions import LocalProtocolError

from bot.transports.matrix.session import NETWORK_ERRORS

log = logging.getLogger(__name__)


class Verifier:
    """Answers verification requests arriving as to-device events after each sync."""

    def __init__(
        self,
        name: str,
        client: AsyncClient,
        admins: frozenset[str],
        spawn: Callable[[Coroutine[Any, Any, None], str], object],
    ) -> None:
        self.name = name
        self._client = client
        self._admins = admins
        self._spawn = spawn
        self._done: set[str] = set()  # verifications whose outcome was logged

    def handle(self, events: Iterable[object]) -> None:
        """nio has already moved each verification along; act on the steps that need
        the bot: accept or refuse a start, show and confirm the emoji, note the result."""
        if self._client.olm is None:
            return
        for event in events:
            if isinstance(event, KeyVerificationStart):
                self._spawn(self._answer(event), f"verify:{event.transaction_id[:8]}")
            elif isinstance(event, KeyVerificationKey):
                self._spawn(self._confirm(event.transaction_id), "verify-confirm")
            elif isinstance(event, KeyVerificationMac):
                self._finished(event.transaction_id)
            elif isinstance(event, KeyVerificationCancel):
                log.info(
                    "%s: %s cancelled verification %s: %s",
                    self.name,
                    event.sender,
                    event.transaction_id,
                    event.reason,
                )

    async def _answer(self, event: KeyVerificationStart) -> None:
        client, tx = self._client, event.transaction_id
        try:
            if tx not in client.key_verifications and client.olm is not None:
                # nio drops a start from a device whose keys it has not fetched yet
                await client.keys_query()
                client.olm.handle_key_verification(event)
            if tx not in client.key_verifications:
                log.warning(
                    "%s: verification request from unknown device %s of %s ignored",
                    self.name,
                    event.from_device,
                    event.sender,
                )
                return
            if event.sender not in self._admins or "emoji" not in (
                event.short_authentication_string
            ):
                log.warning(
                    "%s: refused verification from %s (device %s): only admins listed in "
                    "the config may verify the bot's device, by emoji",
                    self.name,
                    event.sender,
                    event.from_device,
                )
                await client.cancel_key_verification(tx)
                return
            await client.accept_key_verification(tx)
        except (LocalProtocolError, *NETWORK_ERRORS) as exc:
            log.warning("%s: verification %s failed: %s", self.name, tx, exc)

    async def _confirm(self, tx: str) -> None:
        sas = self._client.key_verifications.get(tx)
        if sas is None or sas.canceled:
            return
        device = sas.other_olm_device
        emoji = "  ".join(f"{symbol} {name}" for symbol, name in sas.get_emoji())
        log.warning(
            "%s: emoji verification with %s (%s): %s — compare with what the "
            "admin's client shows; the bot confirms its side",
            self.name,
            device.user_id,
            device.id,
            emoji,
        )
        try:
            await self._client.confirm_short_auth_string(tx)
        except (LocalProtocolError, *NETWORK_ERRORS) as exc:
            log.warning("%s: verification %s failed: %s", self.name, tx, exc)
            return
        self._finished(tx)  # when the admin's confirmation came first

    def _finished(self, tx: str) -> None:
        sas = self._client.key_verifications.get(tx)
        if sas is None or tx in self._done:
            return
        device = sas.other_olm_device
        if sas.verified or sas.canceled:
            self._done.add(tx)
        if sas.verified:
            log.info("%s: verified device %s of %s", self.name, device.id, device.user_id)
        elif sas.canceled:
            log.warning(
                "%s: verification with %s (device %s) failed: %s",
                self.name,
                device.user_id,
                device.id,
                sas.cancel_reason,
            )
