"""Matrix transport on matrix-nio's AsyncClient.

nio parses responses and keeps room state; everything else is ours: logging in once and
reusing the session, our own sync loop with backoff, the sync token and a window of
handled event IDs kept in the bot's database (saved only after the batch was handed
over), no replay of history on a first start, commands older than `command_max_age`
ignored, `limited` syncs paged back, invites checked against the config, and per-room
send queues that honour `retry_after_ms` and wait out an unreachable homeserver.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import re
import uuid
from collections import deque
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from nio import (
    AsyncClient,
    AsyncClientConfig,
    ErrorResponse,
    InviteAliasEvent,
    InviteMemberEvent,
    JoinResponse,
    LoginResponse,
    MegolmEvent,
    MessageDirection,
    ProfileGetDisplayNameResponse,
    RoomGetStateResponse,
    RoomMessagesResponse,
    RoomMessageText,
    RoomResolveAliasResponse,
    RoomSendResponse,
    SyncResponse,
    WhoamiResponse,
)
from nio.exceptions import LocalProtocolError

from bot.clock import Clock, SystemClock
from bot.config import MatrixNetworkConfig
from bot.messages import Message, Reply, Room, Sender
from bot.state import State
from bot.transports.base import Sink
from bot.transports.matrix.render import render, strip_reply_fallback

log = logging.getLogger(__name__)
T = TypeVar("T")

DRAIN_TIMEOUT = 2.0
REQUEST_TIMEOUT = 30.0
REJOIN_INTERVAL = 30.0
PAGE_LIMIT = 100
MAX_PAGES = 20
SEND_ATTEMPTS = 5  # for errors that are neither rate limits nor an unreachable server
_ROOM = re.compile(r"^(![^\s]+|#[^:\s]+:\S+)$")  # IDs have no server part since room v12
NETWORK_ERRORS = (aiohttp.ClientError, OSError, TimeoutError)
SYNC_FILTER = {
    "room": {
        "timeline": {"limit": 50},
        "ephemeral": {"not_types": ["*"]},
        "state": {"lazy_load_members": False},
    },
    "presence": {"not_types": ["*"]},
}


def check_encryption(name: str, config: MatrixNetworkConfig) -> None:
    """Refuse to start an encrypted network without the E2EE extra, rather than sit in
    encrypted rooms unable to read a word."""
    from nio.crypto import ENCRYPTION_ENABLED

    if config.encryption and not ENCRYPTION_ENABLED:
        from bot.app import StartupError

        raise StartupError(
            f"networks.{name}.encryption needs the E2EE extra: pip install 'deployday[e2e]'"
        )


class _Outcome(Enum):
    SENT = "sent"
    DROP = "drop"
    OFFLINE = "offline"
    LATER = "later"


@dataclass(eq=False, slots=True)
class _Out:
    room: str
    reply: Reply
    queued_at: datetime
    txn: str
    attempts: int = 0


class _LoginFailed(Exception):
    """Logging in cannot succeed until someone fixes the config or the account."""


def _error_code(resp: ErrorResponse) -> str:
    return str(resp.status_code or "")


def _relation(content: dict[str, Any]) -> dict[str, Any]:
    relates = content.get("m.relates_to")
    return relates if isinstance(relates, dict) else {}


class MatrixTransport:
    """One Matrix account: keeps itself logged in and synced, turns `m.text` messages into
    Messages and Replies into HTML events, one send queue per room."""

    kind = "matrix"
    trusted = False

    def __init__(
        self,
        name: str,
        config: MatrixNetworkConfig,
        *,
        clock: Clock,
        tz: tzinfo,
        state: State,
        base_dir: Path | None = None,
        wall: Clock | None = None,
        owns_store: bool = False,
        outbox_limit: int = 200,
        queued_after: timedelta = timedelta(seconds=60),
        seen_window: int = 500,
        rejoin_interval: float = REJOIN_INTERVAL,
    ) -> None:
        self.name = name
        self.config = config
        self._clock = clock
        # Server timestamps are compared with real time, never with a test's fake clock.
        self._wall = wall or SystemClock()
        self._tz = tz
        self._state = state
        self._owns_store = owns_store
        self._store_path = (base_dir or Path.cwd()) / config.store_path
        self._outbox_limit = outbox_limit
        self._queued_after = queued_after
        self._rejoin_interval = rejoin_interval
        self._key = f"matrix:{name}"
        self._client: AsyncClient | None = None
        self._sink: Sink | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._side_tasks: set[asyncio.Task[None]] = set()
        self._stop = asyncio.Event()
        self._stopped = False
        self._online = asyncio.Event()
        self._changed = asyncio.Event()
        self._rooms_wanted = asyncio.Event()
        self._logged_in = False
        self._since: str | None = None
        self._seen: deque[str] = deque(maxlen=seen_window)
        self._seen_set: set[str] = set()
        self._seen_dirty = False
        self._room_ids: dict[str, str] = {}  # configured room (alias or id) -> room id
        self._creators: dict[str, frozenset[str]] = {}
        self._joined: set[str] = set()
        self._dm_rooms: set[str] = set()
        self._invites: set[str] = set()
        self._warned_encrypted: set[str] = set()
        self._queues: dict[str, deque[_Out]] = {}
        self._senders: dict[str, asyncio.Task[None]] = {}
        self._display_name: str | None = None
        self.syncs = 0  # successful syncs so far, for tests and the logs
        self.logins = 0  # password logins performed by this instance

    # --- the Transport protocol ---

    @property
    def own_names(self) -> tuple[str, ...]:
        localpart = self.config.user_id[1:].split(":", 1)[0]
        names = [self._display_name, localpart, self.config.user_id]
        return tuple(dict.fromkeys(n for n in names if n))

    @property
    def announce_rooms(self) -> tuple[str, ...]:
        if not self.config.announce:
            return ()
        return tuple(self._room_ids.get(r, r) for r in self.config.rooms)

    def fold(self, name: str) -> str:
        """Matrix IDs are compared exactly: the spec makes them case-sensitive."""
        return name

    async def start(self, sink: Sink) -> None:
        if self._tasks or self._stopped:
            return
        self._sink = sink
        self._client = self._make_client()
        self._room_ids = {r: r for r in self.config.rooms if r.startswith("!")}
        self._tasks = [
            asyncio.create_task(self._supervise(), name=f"matrix-sync:{self.name}"),
            asyncio.create_task(self._maintain(), name=f"matrix-rooms:{self.name}"),
        ]

    async def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._stop.set()
        if self._online.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(DRAIN_TIMEOUT):
                    while any(self._queues.values()):
                        await self._next_change()
        # The sync loop ends by itself at the next await (a long poll is abandoned), so
        # it is never cut off in the middle of saving its position.
        if self._tasks:
            await asyncio.wait(self._tasks[:1], timeout=DRAIN_TIMEOUT)
        tasks = [*self._tasks, *self._senders.values(), *self._side_tasks]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        unsent = sum(len(q) for q in self._queues.values())
        if unsent:
            log.warning("%s: stopped with %d unsent messages", self.name, unsent)
        if self._client is not None:
            await self._client.close()
        if self._owns_store:
            await self._state.store.dispose()

    async def send(self, room_id: str, reply: Reply) -> None:
        if not _ROOM.match(room_id):
            log.error("%s: not a Matrix room: %r", self.name, room_id[:80])
            return
        total = sum(len(q) for q in self._queues.values())
        if total >= self._outbox_limit:
            oldest = min(
                (q for q in self._queues.values() if q), key=lambda q: q[0].queued_at, default=None
            )
            if oldest is not None:
                dropped = oldest.popleft()
                log.warning(
                    "%s: outbox full (%d messages); dropped the oldest, for %s",
                    self.name,
                    self._outbox_limit,
                    dropped.room,
                )
        item = _Out(room_id, reply, self._clock.now(), uuid.uuid4().hex)
        self._queues.setdefault(room_id, deque()).append(item)
        sender = self._senders.get(room_id)
        if sender is None or sender.done():
            self._senders[room_id] = asyncio.create_task(
                self._drain(room_id), name=f"matrix-send:{self.name}:{room_id}"
            )

    # --- state for callers that need to wait (tests, operators' logs) ---

    @property
    def user_id(self) -> str:
        return self.config.user_id

    @property
    def device_id(self) -> str | None:
        return self._client.device_id if self._client else None

    @property
    def ready(self) -> bool:
        """Logged in, synced with commands enabled, and in every configured room."""
        return (
            self._online.is_set()
            and self._since is not None
            and all(self._room_ids.get(r) in self._joined for r in self.config.rooms)
        )

    def room_id(self, room: str) -> str | None:
        """The room ID of a configured alias or ID, once known."""
        return self._room_ids.get(room)

    async def wait_ready(self) -> None:
        """Until `ready` (wrap in asyncio.timeout)."""
        while not self.ready:
            await self._next_change()

    async def wait_synced(self, count: int) -> None:
        """Until at least `count` syncs have completed (wrap in asyncio.timeout)."""
        while self.syncs < count:
            await self._next_change()

    async def flushed(self) -> None:
        """Until every message queued so far was delivered or given up on."""
        while any(self._queues.values()):
            await self._next_change()

    def _notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def _next_change(self) -> None:
        await self._changed.wait()

    # --- the client and logging in ---

    def _make_client(self) -> AsyncClient:
        encryption = self.config.encryption
        if encryption:
            self._store_path.mkdir(parents=True, exist_ok=True)
        config = AsyncClientConfig(
            max_limit_exceeded=0,  # return 429s to us: we honour retry_after_ms ourselves
            max_timeouts=0,  # raise connection errors: the supervisor owns the backoff
            request_timeout=REQUEST_TIMEOUT,
            encryption_enabled=encryption,
            store_sync_tokens=False,
        )
        return AsyncClient(
            self.config.homeserver,
            self.config.user_id,
            device_id=self.config.device_id,
            store_path=str(self._store_path) if encryption else "",
            config=config,
        )

    def _secret(self, env: str | None) -> str | None:
        if not env:
            return None
        value = os.environ.get(env)
        if not value:
            log.error("%s: environment variable %s is not set", self.name, env)
        return value or None

    async def _log_in(self) -> None:
        """Reuse the access token from the environment or the saved session; log in with
        the password only when there is none or the homeserver no longer accepts it."""
        client = self._client
        assert client is not None
        token_env = self.config.access_token_env
        if token_env:
            token = self._secret(token_env)
            if token is None:
                raise _LoginFailed(f"{token_env} is not set")
            if not await self._restore(token, self.config.device_id):
                raise _LoginFailed(f"the access token in {token_env} is not accepted")
            return
        saved = await self._state.get_json(f"{self._key}:session")
        if (
            isinstance(saved, dict)
            and saved.get("user_id") == self.config.user_id
            and saved.get("homeserver") == self.config.homeserver
            and (self.config.device_id is None or saved.get("device_id") == self.config.device_id)
            and await self._restore(str(saved.get("access_token")), saved.get("device_id"))
        ):
            return
        password = self._secret(self.config.password_env)
        if password is None:
            raise _LoginFailed(f"{self.config.password_env} is not set")
        client.device_id = self.config.device_id or (
            saved.get("device_id") if isinstance(saved, dict) else None
        )
        resp = await client.login(password, device_name=self.config.device_name)
        if not isinstance(resp, LoginResponse):
            if _error_code(resp) in ("M_FORBIDDEN", "M_USER_DEACTIVATED", "M_INVALID_PARAM"):
                raise _LoginFailed(f"login refused: {resp.message}")
            raise ConnectionError(f"login failed: {resp}")
        self.logins += 1
        await self._state.set_json(
            f"{self._key}:session",
            {
                "homeserver": self.config.homeserver,
                "user_id": resp.user_id,
                "device_id": resp.device_id,
                "access_token": resp.access_token,
            },
        )
        log.info("%s: logged in as %s (device %s)", self.name, resp.user_id, resp.device_id)
        await self._after_login()

    async def _restore(self, token: str, device_id: str | None) -> bool:
        """Use an existing access token; False when the homeserver rejects it."""
        client = self._client
        assert client is not None
        client.access_token = token
        resp = await client.whoami()
        if isinstance(resp, WhoamiResponse):
            if resp.user_id != self.config.user_id:
                raise _LoginFailed(
                    f"the access token belongs to {resp.user_id}, not {self.config.user_id}"
                )
            client.restore_login(resp.user_id, resp.device_id or device_id or "", token)
            log.info("%s: reusing the session of device %s", self.name, client.device_id)
            await self._after_login()
            return True
        client.access_token = ""
        if _error_code(resp) == "M_UNKNOWN_TOKEN":
            log.warning("%s: the saved access token was revoked", self.name)
            return False
        raise ConnectionError(f"whoami failed: {resp}")

    async def _after_login(self) -> None:
        client = self._client
        assert client is not None
        self._logged_in = True
        resp = await client.get_displayname(self.config.user_id)
        if isinstance(resp, ProfileGetDisplayNameResponse) and resp.displayname:
            self._display_name = resp.displayname

    # --- the sync loop ---

    async def _supervise(self) -> None:
        reconnect = self.config.reconnect
        delay = reconnect.min_delay
        saved = await self._load_position()
        while not self._stop.is_set():
            pause: float | None = None
            try:
                if not self._logged_in:
                    await self._log_in()
                await self._sync_once(first=not saved)
                saved = True
                delay = reconnect.min_delay
                continue
            except _Stopped:
                break
            except _LoginFailed as exc:
                log.error("%s: cannot log in: %s", self.name, exc)
                delay = reconnect.max_delay
            except _RateLimited as exc:
                pause = exc.seconds
            except NETWORK_ERRORS as exc:  # ConnectionError included (an OSError)
                log.warning(
                    "%s: homeserver %s unreachable: %s",
                    self.name,
                    self.config.homeserver,
                    exc or type(exc).__name__,
                )
            except Exception:
                log.exception("%s: sync failed", self.name)
            self._offline()
            if pause is None:
                pause = random.uniform(max(reconnect.min_delay, delay / 2), delay)
                delay = min(delay * 2, reconnect.max_delay)
            log.info("%s: syncing again in %.1fs", self.name, pause)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), pause)

    def _offline(self) -> None:
        if self._online.is_set():
            self._online.clear()
            self._notify()

    async def _load_position(self) -> bool:
        """The saved sync token, handled event IDs and direct rooms; False on a first
        start (no token), when history must not be taken for commands."""
        while True:
            try:
                since = await self._state.get(f"{self._key}:next_batch")
                seen = await self._state.get_json(f"{self._key}:seen")
                dms = await self._state.get_json(f"{self._key}:dm_rooms")
                break
            except Exception:
                log.exception("%s: cannot read the saved sync position; retrying", self.name)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), self.config.reconnect.max_delay)
                if self._stop.is_set():
                    return False
        for event_id in seen if isinstance(seen, list) else []:
            self._remember(str(event_id))
        self._seen_dirty = False
        self._dm_rooms = {str(r) for r in dms} if isinstance(dms, list) else set()
        self._since = since
        return since is not None

    async def _sync_once(self, *, first: bool) -> None:
        client = self._client
        assert client is not None
        full_state = self.syncs == 0  # room state (members, names) after every (re)start
        resp = await self._unless_stopped(
            client.sync(
                timeout=0 if first or full_state else int(self.config.sync_timeout * 1000),
                since=self._since,
                full_state=full_state if self._since else None,
                sync_filter=SYNC_FILTER,
            )
        )
        if isinstance(resp, ErrorResponse):
            self._sync_error(resp)
        assert isinstance(resp, SyncResponse)
        await self._crypto_housekeeping()
        self._track_rooms(resp)
        messages = [] if first else await self._collect(resp)
        if first:
            for info in resp.rooms.join.values():
                for event in info.timeline.events:
                    if isinstance(event, RoomMessageText):
                        self._remember(event.event_id)
            log.info("%s: first start: history up to now will not be taken as commands", self.name)
        if messages:
            # Handled before handed over: after a crash right here a command is missed
            # (its author sees no answer and repeats it), never run twice.
            for message in messages:
                self._remember(str(message.event_id))
            await self._state.set(f"{self._key}:seen", _json_list(self._seen))
        for message in messages:
            await self._hand_over(message)
        await self._save_position(resp.next_batch)
        self._since = resp.next_batch
        self.syncs += 1
        if not self._online.is_set():
            self._online.set()
            self._rooms_wanted.set()
        self._notify()
        for room_id, info in resp.rooms.invite.items():
            self._consider_invite(room_id, info.invite_state)

    async def _unless_stopped(self, request: Coroutine[Any, Any, T]) -> T:
        """The request's result, or _Stopped as soon as stop() is called."""
        task = asyncio.ensure_future(request)
        stopping = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            raise _Stopped
        return task.result()

    def _sync_error(self, resp: ErrorResponse) -> None:
        code = _error_code(resp)
        if resp.retry_after_ms or code == "M_LIMIT_EXCEEDED":
            raise _RateLimited((resp.retry_after_ms or 5000) / 1000)
        if code == "M_UNKNOWN_TOKEN":
            self._logged_in = False
            raise ConnectionError("the access token was revoked; logging in again")
        raise ConnectionError(f"sync failed: {resp}")

    async def _crypto_housekeeping(self) -> None:
        """What nio's sync_forever does for E2EE: keys up, keys asked for, to-device out."""
        client = self._client
        assert client is not None
        if client.olm is None:
            return
        try:
            if client.should_upload_keys:
                await client.keys_upload()
            if client.should_query_keys:
                await client.keys_query()
            if client.should_claim_keys:
                await client.keys_claim(client.get_users_for_key_claiming())
            await client.send_to_device_messages()
        except NETWORK_ERRORS as exc:
            log.warning("%s: encryption key exchange failed: %s", self.name, exc)

    async def _save_position(self, next_batch: str) -> None:
        values = {f"{self._key}:next_batch": next_batch}
        if self._seen_dirty:
            values[f"{self._key}:seen"] = _json_list(self._seen)
        await self._state.set_many(values)
        self._seen_dirty = False

    def _remember(self, event_id: str) -> None:
        if event_id in self._seen_set:
            return
        if len(self._seen) == self._seen.maxlen:
            self._seen_set.discard(self._seen[0])
        self._seen.append(event_id)
        self._seen_set.add(event_id)
        self._seen_dirty = True

    async def _hand_over(self, message: Message) -> None:
        """Give one message to the sink (which queues it and returns)."""
        if self._sink is None:
            return
        try:
            await self._sink(message)
        except Exception:
            log.exception("%s: the message sink failed", self.name)

    def _track_rooms(self, resp: SyncResponse) -> None:
        before = set(self._joined)
        self._joined |= set(resp.rooms.join)
        for room_id in resp.rooms.leave:
            if room_id in self._joined:
                self._joined.discard(room_id)
                if room_id in self._room_ids.values():
                    log.warning("%s: removed from %s; will try to rejoin", self.name, room_id)
                    self._rooms_wanted.set()
        if before != self._joined:
            self._notify()

    async def _collect(self, resp: SyncResponse) -> list[Message]:
        """The batch's new messages, in order per room, including those a `limited` sync
        skipped (paged back from `prev_batch` as far as `command_max_age` reaches)."""
        messages: list[Message] = []
        for room_id, info in resp.rooms.join.items():
            events = list(info.timeline.events)
            if info.timeline.limited and info.timeline.prev_batch:
                events = await self._page_back(room_id, info.timeline.prev_batch) + events
            if self.config.admin_power_level is not None:
                await self._load_creators(room_id)
            for event in events:
                message = self._message_of(room_id, event)
                if message is not None:
                    messages.append(message)
        return messages

    async def _page_back(self, room_id: str, token: str) -> list[Any]:
        """Older events a limited sync left out, oldest first: back until one is too old
        or already handled."""
        client = self._client
        assert client is not None
        cutoff = self._cutoff()
        found: list[Any] = []
        for _ in range(MAX_PAGES):
            resp = await client.room_messages(
                room_id, start=token, direction=MessageDirection.back, limit=PAGE_LIMIT
            )
            if not isinstance(resp, RoomMessagesResponse):
                log.warning("%s: cannot page back in %s: %s", self.name, room_id, resp)
                break
            done = False
            for event in resp.chunk:
                stamp = getattr(event, "server_timestamp", None)
                if getattr(event, "event_id", None) in self._seen_set or (
                    stamp is not None and _from_ms(stamp) < cutoff
                ):
                    done = True
                    break
                found.append(event)
            if done or not resp.chunk or not resp.end or resp.end == token:
                break
            token = resp.end
        if found:
            log.info("%s: recovered %d events a limited sync skipped", self.name, len(found))
        return list(reversed(found))

    def _cutoff(self) -> datetime:
        return self._wall.now() - timedelta(seconds=self.config.command_max_age)

    def _message_of(self, room_id: str, event: Any) -> Message | None:
        """A Message for a new `m.text` from someone else, else None (with the reason
        logged where someone might wonder why the bot stayed silent)."""
        if isinstance(event, MegolmEvent):
            log.warning(
                "%s: cannot decrypt a message from %s in %s (%s)",
                self.name,
                event.sender,
                room_id,
                "no keys yet" if self.config.encryption else "encryption is not enabled",
            )
            return None
        if not isinstance(event, RoomMessageText):
            return None
        if event.sender == self.config.user_id or event.event_id in self._seen_set:
            return None
        content = event.source.get("content", {})
        relation = _relation(content)
        if relation.get("rel_type") == "m.replace" or "m.new_content" in content:
            return None  # an edit: the original was (or was not) the command
        sent_at = _from_ms(event.server_timestamp)
        if sent_at < self._cutoff():
            log.info(
                "%s: ignored a message from %s in %s sent %s (older than command_max_age)",
                self.name,
                event.sender,
                room_id,
                sent_at.isoformat(timespec="seconds"),
            )
            self._remember(event.event_id)
            return None
        body = event.body
        if "m.in_reply_to" in relation:
            body = strip_reply_fallback(body)
        direct = room_id in self._dm_rooms and room_id not in self._room_ids.values()
        return Message(
            network=self.name,
            room=Room(room_id, is_direct=direct),
            sender=Sender(
                event.sender,
                self._display_of(room_id, event.sender),
                True,
                room_admin=self._room_admin(room_id, event.sender),
            ),
            text=body,
            event_id=event.event_id,
            server_time=sent_at,
        )

    def _display_of(self, room_id: str, user_id: str) -> str:
        client = self._client
        room = client.rooms.get(room_id) if client else None
        user = room.users.get(user_id) if room else None
        name = user.display_name if user else None
        return name or user_id[1:].split(":", 1)[0]

    def _room_admin(self, room_id: str, user_id: str) -> bool:
        """Power in a configured room, when the config grants admin rights by it. Never
        in direct chats, where whoever opened the chat holds all the power."""
        level = self.config.admin_power_level
        if level is None or room_id not in self._room_ids.values() or self._client is None:
            return False
        room = self._client.rooms.get(room_id)
        if room is None:
            return False
        if user_id in self._creators.get(room_id, ()) and user_id not in room.power_levels.users:
            return True  # room version 12: creators outrank every power level
        return room.power_levels.get_user_level(user_id) >= level

    async def _load_creators(self, room_id: str) -> None:
        """Who created a configured room (they hold no power level entry from room
        version 12 on); looked up once per room."""
        if room_id in self._creators or room_id not in self._room_ids.values():
            return
        assert self._client is not None
        resp = await self._client.room_get_state(room_id)
        if not isinstance(resp, RoomGetStateResponse):
            log.warning("%s: cannot read the state of %s: %s", self.name, room_id, resp)
            return
        create = next((e for e in resp.events if e.get("type") == "m.room.create"), None)
        if create is not None:
            extra = create.get("content", {}).get("additional_creators", [])
            self._creators[room_id] = frozenset([create.get("sender", ""), *extra])

    # --- rooms and invites ---

    def _configured(self, room_id: str, aliases: Iterable[str] = ()) -> bool:
        return room_id in self._room_ids.values() or any(
            a in self.config.rooms for a in (room_id, *aliases)
        )

    def _dm_allowed(self, inviter: str) -> bool:
        dm = self.config.dm
        return dm == "anyone" or (isinstance(dm, tuple) and inviter in dm)

    def _consider_invite(self, room_id: str, invite_state: list[Any]) -> None:
        """Join only when the invite is for the bot itself and the room is configured, or
        it is a direct chat from someone the config lets in; otherwise decline."""
        invite = next(
            (
                e
                for e in invite_state
                if isinstance(e, InviteMemberEvent)
                and e.state_key == self.config.user_id
                and e.membership == "invite"
            ),
            None,
        )
        if invite is None or room_id in self._invites or room_id in self._joined:
            return
        aliases = [
            a
            for e in invite_state
            if isinstance(e, InviteAliasEvent)
            for a in (e.canonical_alias,)
            if a
        ]
        direct = bool(invite.content.get("is_direct"))
        self._invites.add(room_id)
        self._spawn(self._answer_invite(room_id, invite.sender, aliases, direct))

    async def _answer_invite(
        self, room_id: str, inviter: str, aliases: list[str], direct: bool
    ) -> None:
        client = self._client
        assert client is not None
        try:
            configured = self._configured(room_id, aliases) or await self._alias_matches(room_id)
            if configured or (direct and self._dm_allowed(inviter)):
                resp = await client.join(room_id)
                if not isinstance(resp, JoinResponse):
                    log.warning("%s: cannot join %s: %s", self.name, room_id, resp)
                    return
                self._joined.add(room_id)
                if not configured:
                    self._dm_rooms.add(room_id)
                    await self._state.set_json(f"{self._key}:dm_rooms", sorted(self._dm_rooms))
                log.info(
                    "%s: accepted %s from %s to %s",
                    self.name,
                    "a configured room" if configured else "a direct chat",
                    inviter,
                    room_id,
                )
                self._notify()
            else:
                log.info("%s: declined an invite from %s to %s", self.name, inviter, room_id)
                await client.room_leave(room_id)
        except NETWORK_ERRORS as exc:
            log.warning("%s: could not answer the invite to %s: %s", self.name, room_id, exc)
        finally:
            self._invites.discard(room_id)

    async def _alias_matches(self, room_id: str) -> bool:
        """Whether a configured alias that is not resolved yet points at `room_id`."""
        await self._resolve_aliases()
        return room_id in self._room_ids.values()

    async def _resolve_aliases(self) -> None:
        client = self._client
        assert client is not None
        for room in self.config.rooms:
            if room.startswith("#") and room not in self._room_ids:
                resp = await client.room_resolve_alias(room)
                if isinstance(resp, RoomResolveAliasResponse):
                    self._room_ids[room] = resp.room_id

    async def _maintain(self) -> None:
        """Join configured rooms that the bot is not in: at start, after being removed,
        and periodically while a room refuses (not invited yet, banned, unknown alias)."""
        failures: dict[str, str] = {}
        while not self._stop.is_set():
            await self._online.wait()
            self._rooms_wanted.clear()
            for room in self.config.rooms:
                if self._room_ids.get(room) in self._joined or self._stop.is_set():
                    continue
                try:
                    resp = await self._client.join(room) if self._client else None
                except NETWORK_ERRORS as exc:
                    log.warning("%s: cannot join %s: %s", self.name, room, exc)
                    continue
                except Exception:
                    log.exception("%s: joining %s failed", self.name, room)
                    continue
                if isinstance(resp, JoinResponse):
                    self._room_ids[room] = resp.room_id
                    self._joined.add(resp.room_id)
                    failures.pop(room, None)
                    log.info("%s: joined %s (%s)", self.name, room, resp.room_id)
                    self._notify()
                elif resp is not None and failures.get(room) != str(resp):
                    failures[room] = str(resp)
                    log.warning("%s: cannot join %s yet: %s", self.name, room, resp)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._rooms_wanted.wait(), self._rejoin_interval)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._side_tasks.add(task)
        task.add_done_callback(self._side_tasks.discard)

    # --- outgoing ---

    async def _drain(self, room: str) -> None:
        """The one writer for `room`: oldest message first; waits while the homeserver is
        unreachable and as long as a rate limit says."""
        queue = self._queues[room]
        delay = self.config.reconnect.min_delay
        while queue:
            await self._online.wait()
            item = queue[0]
            outcome, wait = await self._deliver(item)
            if outcome in (_Outcome.SENT, _Outcome.DROP):
                if queue and queue[0] is item:
                    queue.popleft()
                delay = self.config.reconnect.min_delay
                self._notify()
                continue
            if outcome is _Outcome.OFFLINE:
                self._offline()
                wait = random.uniform(delay / 2, delay)
                delay = min(delay * 2, self.config.reconnect.max_delay)
            await asyncio.sleep(wait)

    async def _deliver(self, item: _Out) -> tuple[_Outcome, float]:
        client = self._client
        assert client is not None
        try:
            room_id = await self._target(item.room)
            if room_id is None:
                log.error("%s: no such room %s; dropped a message", self.name, item.room)
                return _Outcome.DROP, 0.0
            room = client.rooms.get(room_id)
            if room is not None and room.encrypted and client.olm is None:
                log.error(
                    "%s: %s is encrypted and encryption is not enabled; not sending plain "
                    "text there",
                    self.name,
                    room_id,
                )
                return _Outcome.DROP, 0.0
            note = None
            if self._clock.now() - item.queued_at > self._queued_after:
                note = f"[queued {item.queued_at.astimezone(self._tz):%H:%M}] "
            resp = await client.room_send(
                room_id,
                "m.room.message",
                render(item.reply, self.name, note=note),
                tx_id=item.txn,  # a retry of the same message is deduplicated by the server
                ignore_unverified_devices=True,
            )
        except NETWORK_ERRORS as exc:
            log.warning("%s: cannot send to %s: %s", self.name, item.room, exc)
            return _Outcome.OFFLINE, 0.0
        except LocalProtocolError as exc:
            log.error("%s: cannot send to %s: %s; dropped", self.name, item.room, exc)
            return _Outcome.DROP, 0.0
        if isinstance(resp, RoomSendResponse):
            return _Outcome.SENT, 0.0
        code = _error_code(resp)
        if resp.retry_after_ms or code == "M_LIMIT_EXCEEDED":
            return _Outcome.LATER, (resp.retry_after_ms or 5000) / 1000
        if code == "M_UNKNOWN_TOKEN":
            self._logged_in = False
            return _Outcome.OFFLINE, 0.0
        item.attempts += 1
        if code in ("M_FORBIDDEN", "M_NOT_FOUND", "M_TOO_LARGE", "M_BAD_JSON", "M_NOT_JSON") or (
            item.attempts >= SEND_ATTEMPTS
        ):
            log.error("%s: the homeserver refused a message for %s: %s", self.name, room_id, resp)
            return _Outcome.DROP, 0.0
        return _Outcome.LATER, self.config.reconnect.min_delay * item.attempts

    async def _target(self, room: str) -> str | None:
        """The room ID for a room ID or alias (aliases resolved once, then remembered)."""
        if room.startswith("!"):
            return room
        known = self._room_ids.get(room)
        if known is not None:
            return known
        client = self._client
        assert client is not None
        resp = await client.room_resolve_alias(room)
        if isinstance(resp, RoomResolveAliasResponse):
            if room in self.config.rooms:
                self._room_ids[room] = resp.room_id
            return resp.room_id
        if _error_code(resp) == "M_NOT_FOUND":
            return None
        raise ConnectionError(f"cannot resolve {room}: {resp}")


class _Stopped(Exception):
    """stop() was called while waiting for the homeserver."""


class _RateLimited(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"rate limited for {seconds:.1f}s")
        self.seconds = seconds


def _from_ms(stamp: int) -> datetime:
    return datetime.fromtimestamp(stamp / 1000, UTC)


def _json_list(values: Iterable[str]) -> str:
    return json.dumps(list(values), separators=(",", ":"))
