"""A real Matrix homeserver (Synapse from PyPI) for the server tier, started once per test
session on a free loopback port: SQLite, client API only, no federation, rate limits
lifted, users registered through the shared-secret admin API. `MatrixUser` is one person
with a nio client that syncs in the background and buffers what it receives; with a store
directory it is an encrypting client (its own device, keys and key exchange), and what it
cannot decrypt is kept apart in `unreadable`."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import importlib.util
import itertools
import re
import shutil
import sys
import time
import urllib.request
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from nio import (
    AsyncClient,
    AsyncClientConfig,
    InviteMemberEvent,
    JoinResponse,
    MegolmEvent,
    RoomCreateResponse,
    RoomMemberEvent,
    RoomMessageText,
    RoomSendResponse,
    RoomVisibility,
    SyncResponse,
)

from tests.servers.support import Server, free_port, need, server_dir

__all__ = ["Homeserver", "MatrixUser", "private_synapse", "synapse"]

HOST = "127.0.0.1"
SECRET = "test-shared-secret"
SERVER_NAME = "localhost"
_UNLIMITED = "{per_second: 10000, burst_count: 10000}"

HOMESERVER_YAML = f"""\
server_name: "{SERVER_NAME}"
public_baseurl: "http://{HOST}:@PORT@/"
pid_file: @DIR@/homeserver.pid
listeners:
  - port: @PORT@
    bind_addresses: ["{HOST}"]
    type: http
    tls: false
    x_forwarded: false
    resources:
      - names: [client]
        compress: false
database:
  name: sqlite3
  args:
    database: @DIR@/homeserver.db
media_store_path: @DIR@/media_store
signing_key_path: @DIR@/signing.key
report_stats: false
enable_metrics: false
enable_registration: false
registration_shared_secret: "{SECRET}"
macaroon_secret_key: "test-macaroon-secret"
form_secret: "test-form-secret"
trusted_key_servers: []
federation_domain_whitelist: []
presence:
  enabled: false
url_preview_enabled: false
bcrypt_rounds: 4
rc_message: {_UNLIMITED}
rc_registration: {_UNLIMITED}
rc_login:
  address: {_UNLIMITED}
  account: {_UNLIMITED}
  failed_attempts: {_UNLIMITED}
rc_joins:
  local: {_UNLIMITED}
  remote: {_UNLIMITED}
rc_joins_per_room: {_UNLIMITED}
rc_invites:
  per_room: {_UNLIMITED}
  per_user: {_UNLIMITED}
  per_issuer: {_UNLIMITED}
rc_room_creation: {_UNLIMITED}
rc_admin_redaction: {_UNLIMITED}
rc_3pid_validation: {_UNLIMITED}
rc_third_party_invite: {_UNLIMITED}
rc_presence:
  per_user: {_UNLIMITED}
rc_profile: {_UNLIMITED}
rc_user_directory: {_UNLIMITED}
rc_delayed_event_mgmt: {_UNLIMITED}
rc_reports: {_UNLIMITED}
rc_media_create: {_UNLIMITED}
rc_key_requests: {_UNLIMITED}
"""

ENCRYPTION = {"algorithm": "m.megolm.v1.aes-sha2"}  # the content of `m.room.encryption`
ENCRYPTION_STATE = {"type": "m.room.encryption", "state_key": "", "content": ENCRYPTION}

_names = itertools.count(1)


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=1) as resp:
            return resp.status == 200
    except OSError:
        return False


@dataclass
class Homeserver:
    url: str
    directory: Path
    server: Server
    started_in: float  # seconds from launch to a healthy /health, for the closing note

    def unique(self, prefix: str) -> str:
        """A localpart no other test in this session uses."""
        return f"{prefix}{next(_names)}"

    def user_id(self, localpart: str) -> str:
        return f"@{localpart}:{SERVER_NAME}"

    async def register(self, localpart: str, password: str) -> str:
        """Create an account with the shared-secret admin API; returns its user ID."""
        endpoint = f"{self.url}/_synapse/admin/v1/register"
        async with aiohttp.ClientSession() as session:
            async with session.get(endpoint) as resp:
                nonce = (await resp.json())["nonce"]
            mac = hmac.new(
                SECRET.encode(),
                b"\0".join([nonce.encode(), localpart.encode(), password.encode(), b"notadmin"]),
                hashlib.sha1,
            ).hexdigest()
            body = {
                "nonce": nonce,
                "username": localpart,
                "password": password,
                "admin": False,
                "mac": mac,
            }
            async with session.post(endpoint, json=body) as resp:
                if resp.status != 200:
                    raise RuntimeError(f"cannot register {localpart}: {await resp.text()}")
                return str((await resp.json())["user_id"])

    async def user(
        self, prefix: str, *, display_name: str | None = None, store: Path | None = None
    ) -> MatrixUser:
        """A fresh account, logged in and syncing (encrypting, with keys kept in `store`,
        when one is given)."""
        localpart = self.unique(prefix)
        password = f"pw-{localpart}"
        await self.register(localpart, password)
        return await MatrixUser.login(
            self.url, self.user_id(localpart), password, display_name, store=store
        )

    async def another_device(self, user: MatrixUser, store: Path) -> MatrixUser:
        """The same person logged in once more: a second encrypting device of theirs."""
        localpart = user.user_id[1:].split(":", 1)[0]
        return await MatrixUser.login(self.url, user.user_id, f"pw-{localpart}", store=store)


@dataclass(frozen=True, slots=True)
class Received:
    room_id: str
    sender: str
    body: str
    content: dict[str, Any]
    event_id: str
    encrypted: bool = False  # it arrived as m.room.encrypted and was decrypted

    @property
    def html(self) -> str:
        return str(self.content.get("formatted_body", ""))

    @property
    def mentioned(self) -> list[str]:
        return list(self.content.get("m.mentions", {}).get("user_ids", []))


@dataclass(eq=False)
class MatrixUser:
    """One person on the homeserver. Everything received after login is buffered;
    `next_message` and `expect` take the first buffered message that matches."""

    client: AsyncClient
    messages: deque[Received] = field(default_factory=lambda: deque(maxlen=1000))
    unreadable: list[MegolmEvent] = field(default_factory=list)  # no key for these
    invites: set[str] = field(default_factory=set)
    memberships: dict[tuple[str, str], str] = field(default_factory=dict)  # (room, user)
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None

    @classmethod
    async def login(
        cls,
        url: str,
        user_id: str,
        password: str,
        display_name: str | None = None,
        *,
        store: Path | None = None,
    ) -> MatrixUser:
        if store is None:
            client = AsyncClient(url, user_id)
        else:
            settings = AsyncClientConfig(encryption_enabled=True, store_sync_tokens=False)
            client = AsyncClient(url, user_id, store_path=_directory(store), config=settings)
        resp = await client.login(password, device_name="test")
        if not client.access_token:
            await client.close()
            raise RuntimeError(f"{user_id} cannot log in: {resp}")
        if display_name:
            await client.set_displayname(display_name)
        first = await client.sync(timeout=0)
        assert isinstance(first, SyncResponse), first
        user = cls(client)
        await user._exchange_keys()
        user._task = asyncio.create_task(user._sync_forever(), name=f"sync:{user_id}")
        return user

    @property
    def user_id(self) -> str:
        return str(self.client.user_id)

    @property
    def device_id(self) -> str:
        return str(self.client.device_id)

    async def _exchange_keys(self) -> None:
        """What nio's sync_forever does for an encrypting client after each sync."""
        client = self.client
        if client.olm is None:
            return
        if client.should_upload_keys:
            await client.keys_upload()
        if client.should_query_keys:
            await client.keys_query()
        if client.should_claim_keys:
            await client.keys_claim(client.get_users_for_key_claiming())
        await client.send_to_device_messages()

    async def _sync_forever(self) -> None:
        while True:
            resp = await self.client.sync(timeout=30_000)
            if not isinstance(resp, SyncResponse):
                await asyncio.sleep(0.1)  # a failed sync in a test: retry soon, log nothing
                continue
            for room_id, info in resp.rooms.join.items():
                for event in info.timeline.events:
                    if isinstance(event, RoomMemberEvent):
                        self.memberships[(room_id, event.state_key)] = event.membership
                    if isinstance(event, RoomMessageText):
                        self.messages.append(
                            Received(
                                room_id,
                                event.sender,
                                event.body,
                                event.source.get("content", {}),
                                event.event_id,
                                event.decrypted,
                            )
                        )
                    elif isinstance(event, MegolmEvent):
                        self.unreadable.append(event)
            for room_id, info in resp.rooms.invite.items():
                if any(
                    isinstance(e, InviteMemberEvent) and e.state_key == self.user_id
                    for e in info.invite_state
                ):
                    self.invites.add(room_id)
            await self._exchange_keys()
            arrived, self._arrived = self._arrived, asyncio.Event()
            arrived.set()

    # --- doing things ---

    async def create_room(
        self,
        *,
        alias: str | None = None,
        invite: tuple[str, ...] = (),
        direct: bool = False,
        encrypted: bool = False,
    ) -> str:
        """A private room; `encrypted` puts `m.room.encryption` in its initial state, as
        Element does for private rooms."""
        resp = await self.client.room_create(
            visibility=RoomVisibility.private,
            alias=alias,
            invite=list(invite),
            is_direct=direct,
            preset=None,
            initial_state=[ENCRYPTION_STATE] if encrypted else [],
        )
        assert isinstance(resp, RoomCreateResponse), resp
        return resp.room_id

    async def invite(self, room_id: str, user_id: str) -> None:
        await self.client.room_invite(room_id, user_id)

    async def join(self, room: str) -> str:
        resp = await self.client.join(room)
        assert isinstance(resp, JoinResponse), resp
        return resp.room_id

    async def say(self, room_id: str, text: str, **extra: Any) -> str:
        """Send an m.text; `extra` adds content keys (a reply relation, an edit)."""
        content = {"msgtype": "m.text", "body": text, **extra}
        resp = await self.client.room_send(
            room_id, "m.room.message", content, ignore_unverified_devices=True
        )
        assert isinstance(resp, RoomSendResponse), resp
        return resp.event_id

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.client.close()

    # --- waiting for things ---

    async def next_message(
        self,
        predicate: Callable[[Received], bool],
        timeout: float = 10.0,  # noqa: ASYNC109 - a forgotten timeout must not hang a test
    ) -> Received:
        try:
            async with asyncio.timeout(timeout):
                while True:
                    arrived = self._arrived
                    for item in self.messages:
                        if predicate(item):
                            self.messages.remove(item)
                            return item
                    await arrived.wait()
        except TimeoutError:
            recent = [f"{m.sender}: {m.body[:80]}" for m in list(self.messages)[-5:]]
            raise TimeoutError(
                f"{self.user_id}: no matching message within {timeout}s; latest unread: {recent}"
            ) from None

    async def expect(
        self,
        pattern: str,
        *,
        sender: str | None = None,
        room: str | None = None,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> Received:
        """The first unread message whose body matches the regex `pattern` (searched)."""
        regex = re.compile(pattern)
        return await self.next_message(
            lambda m: (
                bool(regex.search(m.body))
                and (sender is None or m.sender == sender)
                and (room is None or m.room_id == room)
            ),
            timeout,
        )

    async def until(
        self,
        condition: Callable[[], bool],
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> None:
        """Until `condition` holds, looked at again after each sync."""
        async with asyncio.timeout(timeout):
            while not condition():
                await self._arrived.wait()

    async def wait_invite(self, room_id: str, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        await self.until(lambda: room_id in self.invites, timeout)

    async def wait_membership(
        self,
        room_id: str,
        user_id: str,
        membership: str,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> None:
        """Until this user has seen `user_id`'s membership in the room become `membership`
        (join, leave, …)."""
        await self.until(lambda: self.memberships.get((room_id, user_id)) == membership, timeout)


def _directory(path: Path) -> str:
    path.mkdir(parents=True, exist_ok=True)
    return str(path)


def _synapse_installed() -> bool:
    return importlib.util.find_spec("synapse") is not None


def _launch(directory: Path, port: int) -> Homeserver:
    text = HOMESERVER_YAML.replace("@DIR@", str(directory)).replace("@PORT@", str(port))
    (directory / "homeserver.yaml").write_text(text)
    url = f"http://{HOST}:{port}"
    server = Server(
        [sys.executable, "-m", "synapse.app.homeserver", "-c", str(directory / "homeserver.yaml")],
        directory / "synapse.log",
        lambda: _healthy(url),
        timeout=120,
    )
    began = time.monotonic()
    server.start()  # installed but not starting is a failure, never a skip: it raises
    return Homeserver(url, directory, server, time.monotonic() - began)


@contextmanager
def running_homeserver() -> Iterator[Homeserver]:
    """A Synapse on a free port for as long as the context lasts, then removed."""
    need("matrix-synapse", _synapse_installed(), "pip install matrix-synapse")
    homeserver = _launch(server_dir("synapse"), free_port())
    try:
        yield homeserver
    finally:
        homeserver.server.stop()
        shutil.rmtree(homeserver.directory, ignore_errors=True)


@pytest.fixture(scope="session")
def synapse() -> Iterator[Homeserver]:
    """One Synapse for the whole session (its ~2 s start-up is paid once)."""
    with running_homeserver() as homeserver:
        yield homeserver


@pytest.fixture
def private_synapse() -> Iterator[Homeserver]:
    """A Synapse of this test's own, which the test may stop and start again
    (`homeserver.server.stop()` / `.start()`: same port, same database)."""
    with running_homeserver() as homeserver:
        yield homeserver
