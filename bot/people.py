"""People behind chat identities. A person may have one identity per network; commands
refer to people, and transports turn them back into mentions on their own network.

A name typed in a command resolves to exactly one identity (bot.naming reads it): its
stable id or current nick on the network where it was typed, or a qualified form for any
network; never a display name or a person's name on another network."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot import links
from bot.clock import Clock
from bot.commands import UserError
from bot.links import LinkRecord
from bot.messages import IdentifiedBy, Mention, Sender
from bot.naming import Networks, Wanted, nick_key, qualified, read_name
from bot.store import Identity, Person, Store
from bot.store.workers import Unit
from bot.text import clean

_REFRESH = timedelta(minutes=10)
_CANDIDATES_SHOWN = 5


@dataclass(frozen=True, slots=True)
class PersonRef:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class IdentityRef:
    person_id: int
    network: str
    key: str
    nick: str


@dataclass(frozen=True, slots=True)
class Named:
    """Whom a typed name resolved to. `shown` is how an answer refers to them: their
    name, followed by the identity it resolved to when that was through a nick or display
    name rather than a stable id, so a look-alike never passes unnoticed."""

    person: PersonRef
    network: str
    key: str
    identity: str
    shown: str


@dataclass(slots=True)
class _Seen:
    person: PersonRef
    nick: str
    at: datetime


class People:
    def __init__(self, store: Store, clock: Clock, networks: Networks) -> None:
        self._store = store
        self._clock = clock
        self.networks = networks
        self._seen: dict[tuple[str, str], _Seen] = {}
        self._keys: dict[int, tuple[frozenset[tuple[str, str]], datetime]] = {}

    async def identify(self, network: str, sender: Sender) -> PersonRef:
        """The person behind `sender`, created on first sight, or the identity recorded for
        them when someone named them before they spoke. Writes only when something changed
        or the last-seen time is stale, so most commands cost no extra write."""
        key = (network, sender.id)
        now = self._clock.now()
        seen = self._seen.get(key)
        if seen and seen.nick == sender.nick and now - seen.at < _REFRESH:
            return seen.person
        # display names come from the network as typed: clean them and fit the columns
        nick = clean(sender.nick).strip()[:255] or sender.id[:255]
        folded = self._nick_key(network, nick)
        person = await self._write_retrying(
            lambda c: _upsert(c, network, sender.id, nick, folded, now)
        )
        self._seen[key] = _Seen(person, sender.nick, now)
        return person

    async def find(self, here: str, typed: str) -> Named | None:
        """Whom `typed`, said on network `here`, names: None when nobody yet; UserError
        when it is no name, or when it could be several people (listed, qualified)."""
        return await self._find(read_name(typed, here, self.networks))

    async def find_or_record(self, here: str, typed: str) -> Named:
        """Like `find`, but someone not seen yet is recorded on the network named, by the
        stable id they will speak with (`!roster add bob@libera`), so their first message
        is theirs. UserError when the name cannot be such an id (a bare name on a network
        identified by account, a display name on Matrix, anyone on the console)."""
        wanted = read_name(typed, here, self.networks)
        found = await self._find(wanted)
        if found is not None:
            return found
        self._check_recordable(wanted)
        return await self._record(wanted, wanted.key)

    async def _find(self, wanted: Wanted) -> Named | None:
        found = self._choose(wanted, await self._store.read(lambda c: _candidates(c, wanted)))
        if found is not None or wanted.stable:
            return found
        # someone the bot never heard, whom the network shows under that nick right now
        # (logged in to an account, in a channel the bot is in): recorded by their account
        key = self.networks.current_id(wanted.network, wanted.name)
        return None if key is None else await self._record(wanted, key)

    async def _record(self, wanted: Wanted, key: str) -> Named:
        now = self._clock.now()
        person = await self._write_retrying(
            lambda c: _upsert(c, wanted.network, key, wanted.name, wanted.nick_key, now)
        )
        ident = self.qualified(wanted.network, key)
        shown = person.name if key == wanted.key else f"{person.name} ({ident})"
        return Named(person, wanted.network, key, ident, shown)

    def qualified(self, network: str, key: str) -> str:
        return qualified(network, key, self.networks)

    async def mentions(self, person_ids: Iterable[int]) -> dict[int, Mention]:
        ids = set(person_ids)
        if not ids:
            return {}
        stmt = (
            select(Person.id, Person.name, Identity.network, Identity.nick, Identity.key)
            .join(Identity, isouter=True)
            .where(Person.id.in_(ids))
            .order_by(Identity.last_seen)
        )
        rows = await self._store.read(lambda c: c.execute(stmt).all())
        names: dict[int, str] = {}
        found: dict[int, dict[str, tuple[str, str]]] = {}
        for r in rows:
            names[r.id] = r.name
            if r.network is not None:
                found.setdefault(r.id, {})[r.network] = (r.key, r.nick)
        return {
            pid: Mention(
                names[pid], tuple((net, k, n) for net, (k, n) in found.get(pid, {}).items())
            )
            for pid in names
        }

    async def identities(self, person_id: int) -> list[IdentityRef]:
        """Every identity of one person, by network."""
        stmt = (
            select(Identity.person_id, Identity.network, Identity.key, Identity.nick)
            .where(Identity.person_id == person_id)
            .order_by(Identity.network, Identity.key)
        )
        rows = await self._store.read(lambda c: c.execute(stmt).all())
        return [IdentityRef(*r) for r in rows]

    async def identity_keys(self, person_id: int) -> frozenset[tuple[str, str]]:
        """(network, key) of each identity of the person, for matching the admins of the
        config: rights follow the person across networks. Cached for a few minutes."""
        now = self._clock.now()
        cached = self._keys.get(person_id)
        if cached is None or now - cached[1] >= _REFRESH:
            stmt = select(Identity.network, Identity.key).where(Identity.person_id == person_id)
            rows = await self._store.read(lambda c: c.execute(stmt).all())
            cached = (frozenset((r.network, r.key) for r in rows), now)
            self._keys[person_id] = cached
        return cached[0]

    async def link(self, keep: int, gone: int, record: LinkRecord) -> PersonRef:
        """Make two people one (bot.links.merge), recording it."""
        if keep == gone:
            raise ValueError("a person cannot be merged with themselves")
        person_id, name = await self._store.write(lambda c: links.merge(c, keep, gone, record))
        self._forget(keep, gone)
        return PersonRef(person_id, name)

    async def unlink(self, network: str, key: str, record: LinkRecord) -> PersonRef | None:
        """Give an identity a person of its own; None if it has no other identity."""
        now = self._clock.now()
        split = await self._store.write(lambda c: links.split_off(c, network, key, record, now))
        if split is None:
            return None
        old, new, name = split
        self._forget(old, new)
        return PersonRef(new, name)

    async def history(self, person_id: int, limit: int = 3) -> list[LinkRecord]:
        return await self._store.read(lambda c: links.history(c, person_id, limit))

    def _forget(self, *person_ids: int) -> None:
        self._seen = {k: v for k, v in self._seen.items() if v.person.id not in person_ids}
        for person_id in person_ids:
            self._keys.pop(person_id, None)

    def _nick_key(self, network: str, nick: str) -> str:
        mode = self.networks.identified_by(network)
        return nick_key(mode, lambda n: self.networks.fold(network, n), nick)

    def _choose(self, wanted: Wanted, rows: list[Row[Any]]) -> Named | None:
        if wanted.mode is IdentifiedBy.ACCOUNT:
            rows = [r for r in rows if not r.key.startswith("~")]  # anyone can be them
        exact = next((r for r in rows if r.key == wanted.key), None)
        if exact is not None:
            person = PersonRef(exact.person_id, exact.name)
            ident = self.qualified(exact.network, exact.key)
            return Named(person, exact.network, exact.key, ident, person.name)
        by_person = {r.person_id: r for r in rows}
        if len(by_person) > 1:
            shown = sorted(self.qualified(r.network, r.key) for r in by_person.values())
            raise UserError(
                f"{wanted.name} on {wanted.network} could be any of "
                f"{', '.join(shown[:_CANDIDATES_SHOWN])}; name one of them"
            )
        if not by_person:
            return None
        row = next(iter(by_person.values()))
        ident = self.qualified(row.network, row.key)
        person = PersonRef(row.person_id, row.name)
        return Named(person, row.network, row.key, ident, f"{row.name} ({ident})")

    def _check_recordable(self, wanted: Wanted) -> None:
        name, network = wanted.name, wanted.network
        if wanted.mode is IdentifiedBy.ACCOUNT and not wanted.stable:
            raise UserError(
                f"I have not seen {name} on {network}, where people are known by services "
                f"account; if {name} is their account, name it as {name}@{network}"
            )
        if wanted.mode is IdentifiedBy.USER_ID and not wanted.stable:
            raise UserError(
                f"I know nobody called {name} on {network}; name them by their Matrix user "
                "ID (@user:server)"
            )
        if wanted.mode is IdentifiedBy.OPERATOR:
            raise UserError(
                f"nobody but the operator is on {network}; name people with their network, "
                f"like {name}@{self._example_network()} or a Matrix user ID (@user:server)"
            )

    def _example_network(self) -> str:
        names = self.networks.network_names()
        chat = [
            n
            for n in names
            if self.networks.identified_by(n) not in (IdentifiedBy.OPERATOR, IdentifiedBy.USER_ID)
        ]
        return (chat or ["network"])[0]

    async def _write_retrying(self, unit: Unit[PersonRef]) -> PersonRef:
        for _ in range(2):
            try:
                return await self._store.write(unit)
            except IntegrityError:
                continue  # created concurrently by another process; read it
        raise RuntimeError("could not record an identity: it keeps being created concurrently")


def _candidates(conn: Connection, wanted: Wanted) -> list[Row[Any]]:
    """Identities on the wanted network with its stable id, or (unless the name must be
    a stable id) going by it as their current nick or display name."""
    match = Identity.key == wanted.key
    if not wanted.stable:
        match = match | (Identity.nick_folded == wanted.nick_key)
    stmt = (
        select(Identity.person_id, Person.name, Identity.network, Identity.key)
        .join(Person, Person.id == Identity.person_id)
        .where(Identity.network == wanted.network, match)
        .order_by(Identity.key)
    )
    return list(conn.execute(stmt).all())


def _upsert(
    conn: Connection, network: str, key: str, nick: str, folded: str, now: datetime
) -> PersonRef:
    """The person behind an identity, created with it on first sight; the nick and
    last-seen time kept current."""
    row = conn.execute(
        select(Identity.id, Identity.key, Person.id, Person.name)
        .join(Person, Person.id == Identity.person_id)
        .where(Identity.network == network, Identity.key == key)
    ).first()
    if row is None:
        person_id = conn.execute(
            insert(Person).values(name=nick[:64], created_at=now).returning(Person.id)
        ).scalar_one()
        conn.execute(
            insert(Identity).values(
                person_id=person_id,
                network=network,
                key=key,
                nick=nick,
                nick_folded=folded,
                last_seen=now,
            )
        )
        return PersonRef(person_id, nick[:64])
    identity_id, key, person_id, name = row
    if name == key != nick and key.startswith("@"):
        # named by Matrix user ID before they spoke (`!roster add @bob:example.org`): the
        # name they go by is better
        name = nick[:64]
        conn.execute(update(Person).where(Person.id == person_id).values(name=name))
    conn.execute(
        update(Identity)
        .where(Identity.id == identity_id)
        .values(nick=nick, nick_folded=folded, last_seen=now)
    )
    return PersonRef(person_id, name)
