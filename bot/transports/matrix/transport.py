"""Matrix transport on matrix-nio's AsyncClient.

nio parses responses and keeps room state; everything else is ours and lives beside this
module: logging in once and reusing the session (`session`), the sync loop step with its
saved position, catch-up and age cutoff (`sync`), rooms, invites and power (`rooms`) and
HTML rendering (`render`); reconnecting and the outbox are `SupervisedTransport`'s. Here
they are wired together, with per-room sending that honours `retry_after_ms` and waits
out an unreachable homeserver.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from datetime import tzinfo
from enum import Enum
from pathlib import Path
from typing import Any

from nio import RoomSendResponse
from nio.exceptions import EncryptionError, LocalProtocolError, OlmTrustError

from bot.clock import Clock, SystemClock
from bot.config.networks import MatrixNetworkConfig
from bot.errors import StartupError
from bot.files import OWNER, Modes, make_directory
from bot.messages import IdentifiedBy, Mention, Reply, Sender, Span
from bot.state import State
from bot.transports.matrix.crypto import Crypto, LostStore
from bot.transports.matrix.render import render
from bot.transports.matrix.rooms import Rooms
from bot.transports.matrix.session import (
    NETWORK_ERRORS,
    LoginFailed,
    Session,
    error_code,
    make_client,
)
from bot.transports.matrix.sync import RateLimited, Stopped, Sync
from bot.transports.matrix.verification import Verifier
from bot.transports.outbox import Queued, cut_text
from bot.transports.supervisor import DRAIN_TIMEOUT, Backoff, SupervisedTransport

log = logging.getLogger(__name__)

SEND_ATTEMPTS = 5  # for errors that are neither rate limits nor an unreachable server
_ROOM = re.compile(r"^(![^\s]+|#[^:\s]+:\S+)$")  # IDs have no server part since room v12


def check_encryption(name: str, config: MatrixNetworkConfig) -> None:
    """Refuse to start an encrypted network without the E2EE extra, rather than sit in
    encrypted rooms unable to read a word."""
    from nio.crypto import ENCRYPTION_ENABLED

    if config.encryption and not ENCRYPTION_ENABLED:
        raise StartupError(
            f"networks.{name}.encryption needs the E2EE extra: pip install 'deployday[e2e]'"
        )


class _Outcome(Enum):
    SENT = "sent"
    DROP = "drop"
    OFFLINE = "offline"
    LATER = "later"


@dataclass(eq=False, slots=True, kw_only=True)
class QueuedReply(Queued):
    """A reply waiting for its room; `txn` makes a retry of it a duplicate the homeserver
    recognises, not a second message."""

    reply: Reply
    txn: str
    attempts: int = 0


class MatrixTransport(SupervisedTransport[QueuedReply]):
    """One Matrix account: keeps itself logged in and synced, turns `m.text` messages into
    Messages and Replies into HTML events, one sender per room."""

    kind = "matrix"
    unit = "messages"
    retrying = "syncing again"

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
        admins: frozenset[str] = frozenset(),
        modes: Modes = OWNER,
    ) -> None:
        super().__init__(
            name, config.reconnect, clock=clock, tz=tz, outbox_limit=config.outbox_limit
        )
        self.config = config
        self._state = state
        self._owns_store = owns_store
        self._store_path = (base_dir or Path.cwd()) / config.store_path
        self._modes = modes  # of the key store's directory (bot.files)
        self._client = make_client(config, self._store_path)
        self._session = Session(name, config, self._client, state)
        self._rooms = Rooms(
            name, config, self._client, state, notify=self._notify, spawn=self._spawn
        )
        self._crypto = Crypto(
            name, config, self._client, tell=self._tell_unreadable, spawn=self._spawn
        )
        self._sync = Sync(
            name,
            config,
            self._client,
            state,
            session=self._session,
            rooms=self._rooms,
            crypto=self._crypto,
            verifier=Verifier(name, self._client, admins, self._spawn),
            wall=wall or SystemClock(),
            hand_over=self._hand_over,
        )
        self._online = asyncio.Event()
        self._onlines = 0  # times it went online: the first sync, and each after an outage
        self.out_of_service: str | None = None  # why this device must not be used
        self._senders: dict[str, asyncio.Task[None]] = {}

    # --- the Transport protocol ---

    @property
    def own_names(self) -> tuple[str, ...]:
        localpart = self.config.user_id[1:].split(":", 1)[0]
        names = [self._session.display_name, localpart, self.config.user_id]
        return tuple(dict.fromkeys(n for n in names if n))

    @property
    def announce_rooms(self) -> tuple[str, ...]:
        if not self.config.announce:
            return ()
        return tuple(self._rooms.ids.get(r, r) for r in self.config.rooms)

    def fold(self, name: str) -> str:
        """Matrix IDs are compared exactly: the spec makes them case-sensitive."""
        return name

    @property
    def identified_by(self) -> IdentifiedBy:
        return IdentifiedBy.USER_ID

    def private_room(self, sender: Sender) -> str | None:
        return self._rooms.direct_with(sender.id)

    def current_id(self, nick: str) -> str | None:
        return None  # display names are anyone's: people are named by user ID

    async def send(self, room_id: str, reply: Reply, *, announcement: bool = False) -> None:
        if not _ROOM.match(room_id):
            log.error("%s: not a Matrix room: %r", self.name, room_id[:80])
            return
        now = self._clock.now()
        self._enqueue(
            [
                QueuedReply(
                    target=room_id,
                    reply=reply,
                    queued_at=now,
                    txn=uuid.uuid4().hex,
                    announcement=announcement,
                )
            ]
        )
        sender = self._senders.get(room_id)
        if sender is None or sender.done():
            self._senders[room_id] = self._spawn(self._send_room(room_id), f"send:{room_id}")

    # --- state for callers that need to wait (tests, operators' logs) ---

    @property
    def ready(self) -> bool:
        """Logged in, synced with commands enabled, and in every configured room."""
        return self._online.is_set() and self._sync.since is not None and self._rooms.all_joined

    @property
    def device_id(self) -> str | None:
        return self._client.device_id

    @property
    def connections(self) -> int:
        return self._onlines

    @property
    def logins(self) -> int:
        """Password logins performed by this instance."""
        return self._session.logins

    # --- the life cycle (SupervisedTransport) ---

    def _begin(self) -> Mapping[str, Coroutine[Any, Any, None]]:
        if self.config.encryption:
            make_directory(self._store_path, self._modes)
        return {"rooms": self._rooms.maintain(self._online, self._stopping)}

    async def _hang_up(self) -> None:
        """Let queued messages go while online, then let the sync loop end by itself (a
        long poll is abandoned), so it is never cut off while saving its position."""
        if self._online.is_set():
            await self._drain_briefly(lambda: not self._outbox)
        if self._tasks:
            await asyncio.wait(self._tasks[:1], timeout=DRAIN_TIMEOUT)

    async def _release(self) -> None:
        await self._client.close()
        if self._owns_store:
            await self._state.store.dispose()

    async def _attempt(self, backoff: Backoff) -> float | None:
        """One sync, logging in first when needed; the next follows at once."""
        if not self._sync.loaded and not await self._load_position():
            return None
        try:
            await self._session.ensure()
            await self._sync.once(self._stopping)
        except Stopped:
            return None
        except LostStore as exc:
            log.error("%s: %s", self.name, exc)
            self.out_of_service = str(exc)
            self._notify()
            self._offline()
            await self._stopping.wait()  # this device stays unused until someone acts
            return None
        except LoginFailed as exc:
            log.error("%s: cannot log in: %s", self.name, exc)
            backoff.longest()
            pause = backoff.next()
        except RateLimited as exc:
            pause = exc.seconds
        except NETWORK_ERRORS as exc:  # ConnectionError included (an OSError)
            log.warning(
                "%s: homeserver %s unreachable: %s",
                self.name,
                self.config.homeserver,
                exc or type(exc).__name__,
            )
            pause = backoff.next()
        except Exception:
            log.exception("%s: sync failed", self.name)
            pause = backoff.next()
        else:
            backoff.reset()
            if not self._online.is_set():
                self._online.set()
                self._onlines += 1
                self._rooms.wanted.set()
            self._notify()
            return None
        self._offline()
        return pause

    async def _load_position(self) -> bool:
        """The saved sync position and direct chats, retried until the database answers;
        False when stopped meanwhile."""
        while not self._stopping.is_set():
            try:
                await self._sync.load()
                await self._rooms.load()
                return True
            except Exception:
                log.exception("%s: cannot read the saved sync position; retrying", self.name)
                await self._pause(self._reconnect.max_delay)
        return False

    def _offline(self) -> None:
        if self._online.is_set():
            self._online.clear()
            self._notify()

    # --- outgoing ---

    async def _send_room(self, room: str) -> None:
        """The one writer for `room`: oldest message first; waits while the homeserver is
        unreachable and as long as a rate limit says."""
        backoff = Backoff(self._reconnect)
        while self._next_for(room) is not None:
            await self._online.wait()
            item = self._next_for(room)
            if item is None:
                break  # the outbox overflowed meanwhile
            outcome, wait = await self._deliver(item)
            if outcome in (_Outcome.SENT, _Outcome.DROP):
                self._outbox.remove(item)
                backoff.reset()
                self._notify()
                continue
            if outcome is _Outcome.OFFLINE:
                self._offline()
                wait = backoff.next()
            await asyncio.sleep(wait)

    def _next_for(self, room: str) -> QueuedReply | None:
        return self._outbox.peek(room)

    def _cut_note(self, target: str, dropped: int) -> QueuedReply:
        return QueuedReply(
            target=target,
            reply=Reply.of(cut_text(dropped, "message")),
            queued_at=self._clock.now(),
            txn=uuid.uuid4().hex,
            cut=True,
        )

    async def _deliver(self, item: QueuedReply) -> tuple[_Outcome, float]:
        client = self._client
        try:
            room_id = await self._rooms.target(item.target)
            if room_id is None:
                log.error("%s: no such room %s; dropped a message", self.name, item.target)
                return _Outcome.DROP, 0.0
            refused = self._crypto.refuses(room_id)
            if refused is not None:
                return self._refused(item, room_id, refused)
            self._crypto.restrict(room_id)
            resp = await client.room_send(
                room_id,
                "m.room.message",
                render(item.reply, self.name, note=self._late_note(item)),
                tx_id=item.txn,  # a retry of the same message is deduplicated by the server
                ignore_unverified_devices=self.config.share_keys_with == "all",
            )
        except NETWORK_ERRORS as exc:
            log.warning("%s: cannot send to %s: %s", self.name, item.target, exc)
            return _Outcome.OFFLINE, 0.0
        except (LocalProtocolError, OlmTrustError, EncryptionError) as exc:
            log.error("%s: cannot send to %s: %s; dropped", self.name, item.target, exc)
            return _Outcome.DROP, 0.0
        if isinstance(resp, RoomSendResponse):
            return _Outcome.SENT, 0.0
        code = error_code(resp)
        if resp.retry_after_ms or code == "M_LIMIT_EXCEEDED":
            return _Outcome.LATER, (resp.retry_after_ms or 5000) / 1000
        if code == "M_UNKNOWN_TOKEN":
            self._session.revoked()
            return _Outcome.OFFLINE, 0.0
        item.attempts += 1
        if code in ("M_FORBIDDEN", "M_NOT_FOUND", "M_TOO_LARGE", "M_BAD_JSON", "M_NOT_JSON") or (
            item.attempts >= SEND_ATTEMPTS
        ):
            log.error("%s: the homeserver refused a message for %s: %s", self.name, room_id, resp)
            return _Outcome.DROP, 0.0
        return _Outcome.LATER, self.config.reconnect.min_delay * item.attempts

    def _refused(self, item: QueuedReply, room_id: str, why: str) -> tuple[_Outcome, float]:
        """Nothing goes to a room that may be encrypted unless it is encrypted: a room whose
        state is not synced yet gets a few more tries, an encrypted one without encryption
        enabled none."""
        item.attempts += 1
        if self._client.rooms.get(room_id) is None and item.attempts < SEND_ATTEMPTS:
            return _Outcome.LATER, self.config.reconnect.min_delay * item.attempts
        log.error("%s: not sending to %s: %s; dropped a message", self.name, room_id, why)
        return _Outcome.DROP, 0.0

    async def _tell_unreadable(self, room_id: str, sender: str) -> None:
        """Tell `sender`, in the room, that the bot never got the key for their message."""
        display = self._rooms.display_of(room_id, sender)
        reply = Reply.of(
            [
                Mention(display, ((self.name, sender, display),)),
                Span(
                    f": I could not read your message: your client did not send my device "
                    f"({self._client.device_id}) its key. Let your client send keys to "
                    "unverified sessions in this room (see the bot's README) and say it again."
                ),
            ]
        )
        await self.send(room_id, reply)
