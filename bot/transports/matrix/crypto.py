"""End-to-end encryption for one Matrix account, on matrix-nio's Olm machine (the `e2e`
extra: vodozemac). nio encrypts, decrypts and keeps the device's keys in `store_path`;
what a bot has to decide itself lives here:

- the key exchange nio's `sync_forever` would run (keys up, keys asked for, to-device out);
- a lost store: the homeserver already holds keys for the configured device that the
  store does not have, so the device is refused rather than given new keys that every
  client in the room would reject (one log line, recovery in README);
- trust from the config: `trusted_devices` are verified, `blocked_devices` blacklisted;
- whom the room keys go to: every device (`share_keys_with: all`) or verified ones only;
- messages from blacklisted devices are dropped before anything reads them;
- messages the bot holds no key for: logged once per key session, retried when the key
  arrives late, and after `key_wait` seconds the sender is told once, in the room.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any

from nio import Api, AsyncClient, MegolmEvent, RoomMessageText
from nio.exceptions import EncryptionError

from bot.config.networks import MatrixNetworkConfig
from bot.transports.matrix.session import NETWORK_ERRORS

log = logging.getLogger(__name__)


class LostStore(Exception):
    """The configured device's keys are gone from the store; it must not be used."""


@dataclass(eq=False, slots=True)
class _Pending:
    """Messages of one key session the bot has no key for (yet)."""

    room_id: str
    sender: str
    events: list[MegolmEvent] = field(default_factory=list)


class Crypto:
    """The account's E2EE decisions (see the module docstring); every method is a no-op
    when encryption is off, except refusing to read or write encrypted rooms."""

    def __init__(
        self,
        name: str,
        config: MatrixNetworkConfig,
        client: AsyncClient,
        *,
        tell: Callable[[str, str], Awaitable[None]],
        spawn: Callable[[Coroutine[Any, Any, None], str], object],
    ) -> None:
        self.name = name
        self.config = config
        self._client = client
        self._tell = tell  # (room, sender): say in the room that their message was unreadable
        self._spawn = spawn
        self._device_checked = False
        self._pending: dict[str, _Pending] = {}  # by key session id
        self._unreadable: set[str] = set()  # key sessions the sender was told about
        self._quiet: set[str] = set()  # rooms and devices already logged about

    # --- the key exchange ---

    async def housekeeping(self) -> None:
        """What nio's sync_forever does for E2EE after each sync, with the store checked
        before the device's keys are first uploaded and the config's trust applied to
        every device known."""
        client = self._client
        if client.olm is None:
            return
        if client.should_upload_keys:
            await self._check_device()  # a failure here must keep the keys from going up
        try:
            if client.should_upload_keys:
                await client.keys_upload()
            if client.should_query_keys:
                await client.keys_query()
            self._apply_trust()  # also to devices the store knew before this start
            if client.should_claim_keys:
                await client.keys_claim(client.get_users_for_key_claiming())
            await client.send_to_device_messages()
        except NETWORK_ERRORS as exc:  # the batch is still handled; the next sync retries
            log.warning("%s: encryption key exchange failed: %s", self.name, exc)

    async def _check_device(self) -> None:
        """Raise LostStore when the store has no keys for the configured device but the
        homeserver has some: new keys for the same device ID are rejected by the clients
        that knew the old ones, so everything the bot said would be unreadable."""
        olm = self._client.olm
        if olm is None or olm.account.shared or self._device_checked:
            return
        client = self._client
        method, path, data = Api.keys_query(client.access_token, {client.user_id})
        resp = await client.send(method, path, data)
        resp.raise_for_status()
        body = json.loads(await resp.text())
        known = body.get("device_keys", {}).get(client.user_id, {}).get(client.device_id)
        mine = olm.account.identity_keys["ed25519"]
        if known and known.get("keys", {}).get(f"ed25519:{client.device_id}") != mine:
            raise LostStore(
                f"the homeserver has keys for device {client.device_id} that the store at "
                f"{self.config.store_path} does not hold (the store was lost or replaced); "
                "this device will not be used, so nothing is sent in encrypted rooms. "
                "Recover: set a new device_id and restart (README, 'Lost key store')"
            )
        self._device_checked = True

    def _apply_trust(self) -> None:
        """Verify `trusted_devices`, blacklist `blocked_devices` and lift blacklisting from
        devices no longer listed, for every device known so far."""
        olm, client = self._client.olm, self._client
        if olm is None:
            return
        for device in olm.device_store:
            blocked = device.id in self.config.blocked_devices.get(device.user_id, ())
            if blocked and not device.blacklisted:
                client.blacklist_device(device)
                log.info("%s: blocked device %s of %s", self.name, device.id, device.user_id)
            elif device.blacklisted and not blocked:
                client.unblacklist_device(device)
            trusted = device.id in self.config.trusted_devices.get(device.user_id, ())
            if trusted and not blocked and not device.verified:
                client.verify_device(device)
                log.info("%s: trusting device %s of %s", self.name, device.id, device.user_id)

    # --- sending ---

    def refuses(self, room_id: str) -> str | None:
        """Why nothing may be sent to `room_id` now, or None. A room the client holds no
        state for might be encrypted: never guess plain text."""
        room = self._client.rooms.get(room_id)
        if room is None:
            return "its state is not known yet"
        if room.encrypted and self._client.olm is None:
            return "it is encrypted and encryption is not enabled"
        return None

    def restrict(self, room_id: str) -> None:
        """With `share_keys_with: verified`, leave every unverified device out of the room
        key the next message is sent with (a new key when a left-out device has been
        verified since, so it can read from now on)."""
        olm = self._client.olm
        room = self._client.rooms.get(room_id)
        if olm is None or room is None or not room.encrypted:
            return
        if self.config.share_keys_with != "verified":
            return
        session = olm.outbound_group_sessions.get(room_id)
        devices = [
            d
            for user in room.users
            for d in olm.device_store.active_user_devices(user)
            if d.id != olm.device_id or d.user_id != olm.user_id
        ]
        if (
            session is None
            or session.expired
            or any(d.verified and (d.user_id, d.id) in session.users_ignored for d in devices)
        ):
            olm.create_outbound_group_session(room_id)
            session = olm.outbound_group_sessions[room_id]
        for device in devices:
            if not device.verified and (device.user_id, device.id) not in session.users_shared_with:
                session.users_ignored.add((device.user_id, device.id))

    # --- receiving ---

    def blocked(self, event: RoomMessageText) -> bool:
        """Whether a decrypted message comes from a device the bot blacklisted; such a
        message is dropped unread (logged once per device and run)."""
        olm = self._client.olm
        if olm is None or not event.decrypted or not event.sender_key:
            return False
        device = olm.device_store.device_from_sender_key(event.sender, event.sender_key)
        if device is None or not device.blacklisted:
            return False
        if device.curve25519 not in self._quiet:
            self._quiet.add(device.curve25519)
            log.warning(
                "%s: ignoring messages from %s's blocked device %s",
                self.name,
                event.sender,
                device.id,
            )
        return True

    def undecryptable(self, room_id: str, event: MegolmEvent) -> None:
        """A message the bot cannot read: logged once per key session; kept until its key
        arrives (`recovered`) or `key_wait` passes, when the sender is told once."""
        if self._client.olm is None:
            if room_id not in self._quiet:
                self._quiet.add(room_id)
                log.warning(
                    "%s: %s is encrypted and encryption is not enabled: messages there "
                    "cannot be read and nothing will be sent there",
                    self.name,
                    room_id,
                )
            return
        session = event.session_id
        if session in self._unreadable:
            return
        pending = self._pending.get(session)
        if pending is None:
            log.warning(
                "%s: cannot decrypt a message from %s in %s: no key for session %s; "
                "waiting %.0fs for it",
                self.name,
                event.sender,
                room_id,
                session,
                self.config.key_wait,
            )
            pending = self._pending[session] = _Pending(room_id, event.sender)
            self._spawn(self._give_up(session), f"key-wait:{session[:8]}")
        pending.events.append(event)

    def recovered(self) -> Iterator[tuple[str, Any]]:
        """(room, event) for waiting messages whose key has arrived since, decrypted."""
        olm = self._client.olm
        if olm is None:
            return
        for session, pending in list(self._pending.items()):
            first = pending.events[0]
            if olm.inbound_group_store.get(pending.room_id, first.sender_key, session) is None:
                continue
            del self._pending[session]
            log.info(
                "%s: the key for session %s arrived late; reading its messages", self.name, session
            )
            for event in pending.events:
                event.room_id = pending.room_id
                try:
                    yield pending.room_id, self._client.decrypt_event(event)
                except EncryptionError as exc:
                    log.warning("%s: a late key did not decrypt %s: %s", self.name, session, exc)

    async def _give_up(self, session: str) -> None:
        await asyncio.sleep(self.config.key_wait)
        pending = self._pending.pop(session, None)
        if pending is None:
            return
        self._unreadable.add(session)
        await self._tell(pending.room_id, pending.sender)
