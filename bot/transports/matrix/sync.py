"""The bot's own Matrix sync loop step, and where it stands.

nio's `store_sync_tokens` needs the encryption store, so the position lives in the bot's
database: the `next_batch` token and a window of handled event IDs, saved only after the
batch was handed over, so a restart neither replays nor skips. There is no "ignore the
initial sync" in nio: with no saved token the first sync (timeout=0) only marks history
as seen. Commands older than `command_max_age` are ignored, and a `limited` sync is paged
back from `prev_batch` as far as that age reaches.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from nio import (
    AsyncClient,
    ErrorResponse,
    MegolmEvent,
    MessageDirection,
    RoomMemberEvent,
    RoomMessagesResponse,
    RoomMessageText,
    SyncResponse,
)

from bot.clock import Clock
from bot.config.networks import MatrixNetworkConfig
from bot.messages import MAX_TEXT_CHARS, Message, Room, Sender
from bot.state import State
from bot.transports.matrix.crypto import Crypto
from bot.transports.matrix.render import strip_reply_fallback
from bot.transports.matrix.rooms import Rooms
from bot.transports.matrix.session import Session, error_code
from bot.transports.matrix.verification import Verifier

log = logging.getLogger(__name__)
T = TypeVar("T")

SEEN_WINDOW = 500  # handled event IDs remembered
PAGE_LIMIT = 100
MAX_PAGES = 20
SYNC_FILTER = {
    "room": {
        "timeline": {"limit": 50},
        "ephemeral": {"not_types": ["*"]},
        "state": {"lazy_load_members": False},
    },
    "presence": {"not_types": ["*"]},
}


class Stopped(Exception):
    """stop() was called while waiting for the homeserver."""


class RateLimited(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"rate limited for {seconds:.1f}s")
        self.seconds = seconds


async def unless_stopped(request: Coroutine[Any, Any, T], stopping: asyncio.Event) -> T:
    """The request's result, or Stopped as soon as `stopping` is set (a long poll is
    abandoned rather than waited out)."""
    task = asyncio.ensure_future(request)
    stopped = asyncio.ensure_future(stopping.wait())
    try:
        await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
    if not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        raise Stopped
    return task.result()


class Sync:
    """One sync after another (driven by the transport's reconnect loop), each turning
    new `m.text` events into Messages for `hand_over`."""

    def __init__(
        self,
        name: str,
        config: MatrixNetworkConfig,
        client: AsyncClient,
        state: State,
        *,
        session: Session,
        rooms: Rooms,
        crypto: Crypto,
        verifier: Verifier,
        wall: Clock,
        hand_over: Callable[[Message], Awaitable[None]],
    ) -> None:
        self.name = name
        self.config = config
        self._client = client
        self._state = state
        self._session = session
        self._rooms = rooms
        self._crypto = crypto
        self._verifier = verifier
        self._wall = wall  # server timestamps are compared with real time, never a fake clock
        self._hand_over = hand_over
        self._key = f"matrix:{name}"
        self.loaded = False
        self.since: str | None = None
        self._seen: deque[str] = deque(maxlen=SEEN_WINDOW)
        self._seen_set: set[str] = set()
        self._seen_dirty = False
        self._count = 0  # successful syncs since start

    async def load(self) -> None:
        """The saved sync token and handled event IDs (no token: a first start, when
        history must not be taken for commands)."""
        since = await self._state.get(f"{self._key}:next_batch")
        seen = await self._state.get_json(f"{self._key}:seen")
        for event_id in seen if isinstance(seen, list) else []:
            self._remember(str(event_id))
        self._seen_dirty = False
        self.since = since
        self.loaded = True

    async def once(self, stopping: asyncio.Event) -> None:
        """One sync: rooms and invites noted, new messages handed over, then the position
        saved. Raises Stopped, RateLimited, or ConnectionError (to be retried)."""
        first = self.since is None
        full_state = self._count == 0  # room state (members, names) after every (re)start
        resp = await unless_stopped(
            self._client.sync(
                timeout=0 if first or full_state else int(self.config.sync_timeout * 1000),
                since=self.since,
                full_state=full_state if self.since else None,
                sync_filter=SYNC_FILTER,
            ),
            stopping,
        )
        if isinstance(resp, ErrorResponse):
            self._error(resp)
        assert isinstance(resp, SyncResponse)
        await self._crypto.housekeeping()
        self._verifier.handle(resp.to_device_events)
        self._rooms.track(resp)
        messages = [] if first else await self._collect(resp)
        if first:
            for info in resp.rooms.join.values():
                for event in info.timeline.events:
                    if isinstance(event, RoomMessageText | MegolmEvent):
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
        await self._save(resp.next_batch)
        self.since = resp.next_batch
        self._count += 1
        for room_id, info in resp.rooms.invite.items():
            self._rooms.consider_invite(room_id, info.invite_state)

    def _error(self, resp: ErrorResponse) -> None:
        code = error_code(resp)
        if resp.retry_after_ms or code == "M_LIMIT_EXCEEDED":
            raise RateLimited((resp.retry_after_ms or 5000) / 1000)
        if code == "M_UNKNOWN_TOKEN":
            self._session.revoked()
            raise ConnectionError("the access token was revoked; logging in again")
        raise ConnectionError(f"sync failed: {resp}")

    async def _save(self, next_batch: str) -> None:
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

    async def _collect(self, resp: SyncResponse) -> list[Message]:
        """The batch's new messages, in order per room, including those a `limited` sync
        skipped (paged back from `prev_batch` as far as `command_max_age` reaches)."""
        late = [self._message_of(room_id, event) for room_id, event in self._crypto.recovered()]
        messages = [m for m in late if m is not None]
        for room_id, info in resp.rooms.join.items():
            events = list(info.timeline.events)
            if info.timeline.limited and info.timeline.prev_batch:
                events = await self._page_back(room_id, info.timeline.prev_batch) + events
            if self.config.admin_power_level is not None:
                await self._rooms.load_creators(room_id)
            joined = self._own_join(events)
            for index, event in enumerate(events):
                if index < joined and isinstance(event, MegolmEvent):
                    continue  # sent before the bot was there: never meant to be read by it
                message = self._message_of(room_id, event)
                if message is not None:
                    messages.append(message)
        return messages

    def _own_join(self, events: list[Any]) -> int:
        """Where the bot's own join is in `events` (0 when it joined before them)."""
        for index in range(len(events) - 1, -1, -1):
            event = events[index]
            if (
                isinstance(event, RoomMemberEvent)
                and event.state_key == self.config.user_id
                and event.membership == "join"
                and event.prev_membership != "join"
            ):
                return index
        return 0

    async def _page_back(self, room_id: str, token: str) -> list[Any]:
        """Older events a limited sync left out, oldest first: back until one is too old
        or already handled."""
        cutoff = self._cutoff()
        found: list[Any] = []
        for _ in range(MAX_PAGES):
            resp = await self._client.room_messages(
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
        logged where someone might wonder why the bot stayed silent). One it cannot
        decrypt goes to `Crypto.undecryptable`; one from a blocked device is dropped."""
        if not isinstance(event, RoomMessageText | MegolmEvent):
            return None
        if event.sender == self.config.user_id or event.event_id in self._seen_set:
            return None
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
        if isinstance(event, MegolmEvent):
            self._crypto.undecryptable(room_id, event)
            return None
        content = event.source.get("content", {})
        relation = _relation(content)
        if relation.get("rel_type") == "m.replace" or "m.new_content" in content:
            return None  # an edit: the original was (or was not) the command
        if self._crypto.blocked(event):
            return None
        body = event.body[:MAX_TEXT_CHARS]
        if "m.in_reply_to" in relation:
            body = strip_reply_fallback(body)
        return Message(
            network=self.name,
            room=Room(room_id, is_direct=self._rooms.is_direct(room_id)),
            sender=Sender(
                event.sender,
                self._rooms.display_of(room_id, event.sender),
                True,
                room_admin=self._rooms.room_admin(room_id, event.sender),
            ),
            text=body,
            event_id=event.event_id,
            server_time=sent_at,
        )


def _relation(content: dict[str, Any]) -> dict[str, Any]:
    relates = content.get("m.relates_to")
    return relates if isinstance(relates, dict) else {}


def _from_ms(stamp: int) -> datetime:
    """A Matrix timestamp; one no calendar holds (any homeserver may set one) reads as the
    distant past, so its message is ignored as too old instead of failing every sync."""
    try:
        return datetime.fromtimestamp(stamp / 1000, UTC)
    except (OverflowError, ValueError, OSError):
        return datetime.min.replace(tzinfo=UTC)


def _json_list(values: Iterable[str]) -> str:
    return json.dumps(list(values), separators=(",", ":"))
