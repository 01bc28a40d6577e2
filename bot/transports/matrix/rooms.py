"""The rooms a Matrix bot is in and may be in: configured rooms (IDs or aliases, resolved
once) joined at start and rejoined after removal, invites accepted only for the bot itself
into a configured room or a direct chat the config allows, the direct chats remembered in
the bot's database, and who administers a configured room (power level, or being one of
its creators from room version 12 on)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from nio import (
    AsyncClient,
    InviteAliasEvent,
    InviteMemberEvent,
    JoinResponse,
    RoomGetStateResponse,
    RoomResolveAliasResponse,
    SyncResponse,
)

from bot.config.networks import MatrixNetworkConfig
from bot.state import State
from bot.transports.matrix.session import NETWORK_ERRORS, error_code

log = logging.getLogger(__name__)

REJOIN_INTERVAL = 30.0


class Rooms:
    """Room membership for one account, kept current from syncs and by `maintain`."""

    def __init__(
        self,
        name: str,
        config: MatrixNetworkConfig,
        client: AsyncClient,
        state: State,
        *,
        notify: Callable[[], None],
        spawn: Callable[[Coroutine[Any, Any, None], str], object],
    ) -> None:
        self.name = name
        self.config = config
        self._client = client
        self._state = state
        self._key = f"matrix:{name}:dm_rooms"
        self._notify = notify
        self._spawn = spawn
        self.ids = {r: r for r in config.rooms if r.startswith("!")}  # configured -> room id
        self.joined: set[str] = set()
        self.direct: set[str] = set()
        self.wanted = asyncio.Event()  # a configured room is missing: try joining now
        self._invites: set[str] = set()
        self._creators: dict[str, frozenset[str]] = {}

    async def load(self) -> None:
        """The direct chats accepted before a restart."""
        saved = await self._state.get_json(self._key)
        self.direct = {str(r) for r in saved} if isinstance(saved, list) else set()

    @property
    def all_joined(self) -> bool:
        return all(self.ids.get(r) in self.joined for r in self.config.rooms)

    def _configured(self, room_id: str, aliases: Iterable[str] = ()) -> bool:
        return room_id in self.ids.values() or any(
            a in self.config.rooms for a in (room_id, *aliases)
        )

    def is_direct(self, room_id: str) -> bool:
        return room_id in self.direct and room_id not in self.ids.values()

    def direct_with(self, user_id: str) -> str | None:
        """A direct chat the bot is in with `user_id` and nobody else, if any."""
        for room_id in sorted(self.direct & self.joined):
            room = self._client.rooms.get(room_id)
            if room is not None and user_id in room.users and len(room.users) <= 2:
                return room_id
        return None

    def display_of(self, room_id: str, user_id: str) -> str:
        room = self._client.rooms.get(room_id)
        user = room.users.get(user_id) if room else None
        name = user.display_name if user else None
        return name or user_id[1:].split(":", 1)[0]

    def room_admin(self, room_id: str, user_id: str) -> bool:
        """Power in a configured room, when the config grants admin rights by it. Never
        in direct chats, where whoever opened the chat holds all the power."""
        level = self.config.admin_power_level
        if level is None or room_id not in self.ids.values():
            return False
        room = self._client.rooms.get(room_id)
        if room is None:
            return False
        if user_id in self._creators.get(room_id, ()) and user_id not in room.power_levels.users:
            return True  # room version 12: creators outrank every power level
        return room.power_levels.get_user_level(user_id) >= level

    async def load_creators(self, room_id: str) -> None:
        """Who created a configured room (they hold no power level entry from room
        version 12 on); looked up once per room."""
        if room_id in self._creators or room_id not in self.ids.values():
            return
        resp = await self._client.room_get_state(room_id)
        if not isinstance(resp, RoomGetStateResponse):
            log.warning("%s: cannot read the state of %s: %s", self.name, room_id, resp)
            return
        create = next((e for e in resp.events if e.get("type") == "m.room.create"), None)
        if create is not None:
            extra = create.get("content", {}).get("additional_creators", [])
            self._creators[room_id] = frozenset([create.get("sender", ""), *extra])

    def track(self, resp: SyncResponse) -> None:
        """Rooms joined and left according to a sync; leaving a configured room asks
        `maintain` to rejoin it."""
        before = set(self.joined)
        self.joined |= set(resp.rooms.join)
        for room_id in resp.rooms.leave:
            if room_id in self.joined:
                self.joined.discard(room_id)
                if room_id in self.ids.values():
                    log.warning("%s: removed from %s; will try to rejoin", self.name, room_id)
                    self.wanted.set()
        if before != self.joined:
            self._notify()

    # --- invites ---

    def consider_invite(self, room_id: str, invite_state: list[Any]) -> None:
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
        if invite is None or room_id in self._invites or room_id in self.joined:
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
        self._spawn(self._answer_invite(room_id, invite.sender, aliases, direct), "invite")

    def _dm_allowed(self, inviter: str) -> bool:
        dm = self.config.dm
        return dm == "anyone" or (isinstance(dm, tuple) and inviter in dm)

    async def _answer_invite(
        self, room_id: str, inviter: str, aliases: list[str], direct: bool
    ) -> None:
        client = self._client
        try:
            configured = self._configured(room_id, aliases) or await self._alias_matches(room_id)
            if configured or (direct and self._dm_allowed(inviter)):
                resp = await client.join(room_id)
                if not isinstance(resp, JoinResponse):
                    log.warning("%s: cannot join %s: %s", self.name, room_id, resp)
                    return
                self.joined.add(room_id)
                if not configured:
                    self.direct.add(room_id)
                    await self._state.set_json(self._key, sorted(self.direct))
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
        for room in self.config.rooms:
            if room.startswith("#") and room not in self.ids:
                resp = await self._client.room_resolve_alias(room)
                if isinstance(resp, RoomResolveAliasResponse):
                    self.ids[room] = resp.room_id
        return room_id in self.ids.values()

    # --- joining configured rooms, finding rooms to send to ---

    async def maintain(self, online: asyncio.Event, stopping: asyncio.Event) -> None:
        """Join configured rooms that the bot is not in: at start, after being removed,
        and periodically while a room refuses (not invited yet, banned, unknown alias)."""
        failures: dict[str, str] = {}
        while not stopping.is_set():
            await online.wait()
            self.wanted.clear()
            for room in self.config.rooms:
                if self.ids.get(room) in self.joined or stopping.is_set():
                    continue
                try:
                    resp = await self._client.join(room)
                except NETWORK_ERRORS as exc:
                    log.warning("%s: cannot join %s: %s", self.name, room, exc)
                    continue
                except Exception:
                    log.exception("%s: joining %s failed", self.name, room)
                    continue
                if isinstance(resp, JoinResponse):
                    self.ids[room] = resp.room_id
                    self.joined.add(resp.room_id)
                    failures.pop(room, None)
                    log.info("%s: joined %s (%s)", self.name, room, resp.room_id)
                    self._notify()
                elif failures.get(room) != str(resp):
                    failures[room] = str(resp)
                    log.warning("%s: cannot join %s yet: %s", self.name, room, resp)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wanted.wait(), REJOIN_INTERVAL)

    async def target(self, room: str) -> str | None:
        """The room ID for a room ID or alias (aliases resolved once, then remembered);
        None when the alias does not exist."""
        if room.startswith("!"):
            return room
        known = self.ids.get(room)
        if known is not None:
            return known
        resp = await self._client.room_resolve_alias(room)
        if isinstance(resp, RoomResolveAliasResponse):
            if room in self.config.rooms:
                self.ids[room] = resp.room_id
            return resp.room_id
        if error_code(resp) == "M_NOT_FOUND":
            return None
        raise ConnectionError(f"cannot resolve {room}: {resp}")
