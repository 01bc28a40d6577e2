"""People behind chat identities. A person may have one identity per network; commands
refer to people, and transports turn them back into mentions on their own network."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import (
    Column,
    ColumnElement,
    PrimaryKeyConstraint,
    Table,
    UniqueConstraint,
    delete,
    func,
    literal,
    select,
    tuple_,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.messages import Mention, Sender
from bot.store import Base, Identity, Person, Store
from bot.text import clean

Fold = Callable[[str, str], str]  # (network, name) -> case-folded name
_REFRESH = timedelta(minutes=10)


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
    authenticated: bool


@dataclass(slots=True)
class _Seen:
    person: PersonRef
    nick: str
    at: datetime


class People:
    def __init__(self, store: Store, clock: Clock, fold: Fold) -> None:
        self._store = store
        self._clock = clock
        self.fold = fold
        self._seen: dict[tuple[str, str], _Seen] = {}
        self._keys: dict[int, tuple[frozenset[str], datetime]] = {}

    async def identify(self, network: str, sender: Sender) -> PersonRef:
        """The person behind `sender`, created on first sight. Writes only when something
        changed or the last-seen time is stale, so most commands cost no extra write."""
        key = (network, sender.id)
        now = self._clock.now()
        seen = self._seen.get(key)
        if seen and seen.nick == sender.nick and now - seen.at < _REFRESH:
            return seen.person
        person = await self._upsert(network, sender, now)
        self._seen[key] = _Seen(person, sender.nick, now)
        return person

    async def _upsert(self, network: str, sender: Sender, now: datetime) -> PersonRef:
        # display names come from the network as typed: clean them and fit the columns
        nick = clean(sender.nick).strip()[:255] or sender.id[:255]
        sender = replace(sender, nick=nick)
        for _ in range(2):
            try:
                async with self._store.write() as s:
                    ident = await _identity(s, network, sender.id)
                    if ident is None:
                        person = Person(name=sender.nick[:64], created_at=now)
                        ident = Identity(
                            person=person,
                            network=network,
                            key=sender.id,
                            nick=sender.nick,
                            authenticated=sender.authenticated,
                            last_seen=now,
                        )
                        s.add(ident)
                        await s.flush()
                    else:
                        if ident.person.name == ident.key != sender.nick:
                            # named by id in a command before they spoke (`!roster add
                            # @bob:example.org`): the name they go by is better
                            ident.person.name = sender.nick[:64]
                        ident.nick, ident.last_seen = sender.nick, now
                        ident.authenticated = ident.authenticated or sender.authenticated
                    return PersonRef(ident.person.id, ident.person.name)
            except IntegrityError:
                continue  # created concurrently by another task or process; read it
        raise RuntimeError(f"could not record identity {network}/{sender.id}")

    async def lookup(self, network: str, who: str) -> PersonRef | None:
        """Find someone by nick or account on this network, or by their person name."""
        who = who if ":" in who else who.removeprefix("@")  # Matrix IDs keep their '@'
        folded = self.fold(network, who)
        async with self._store.read() as s:
            row = (
                await s.execute(
                    select(Person.id, Person.name)
                    .join(Identity)
                    .where(Identity.network == network)
                    .where((Identity.key == folded) | (func.lower(Identity.nick) == who.lower()))
                    .order_by(Identity.last_seen.desc())
                    .limit(1)
                )
            ).first()
            if row is None:
                row = (
                    await s.execute(
                        select(Person.id, Person.name)
                        .where(func.lower(Person.name) == who.lower())
                        .limit(1)
                    )
                ).first()
        return PersonRef(row.id, row.name) if row else None

    async def ensure(self, network: str, who: str) -> PersonRef:
        """Someone named in a command who may not have spoken yet (`!roster add bob`)."""
        found = await self.lookup(network, who)
        if found is not None:
            return found
        return await self._upsert(network, Sender(self.fold(network, who), who), self._clock.now())

    async def mentions(self, person_ids: Iterable[int]) -> dict[int, Mention]:
        ids = set(person_ids)
        if not ids:
            return {}
        async with self._store.read() as s:
            rows = (
                await s.execute(
                    select(Person.id, Person.name, Identity.network, Identity.nick, Identity.key)
                    .join(Identity, isouter=True)
                    .where(Person.id.in_(ids))
                    .order_by(Identity.last_seen)
                )
            ).all()
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
        async with self._store.read() as s:
            rows = (
                await s.scalars(
                    select(Identity)
                    .where(Identity.person_id == person_id)
                    .order_by(Identity.network, Identity.key)
                )
            ).all()
        return [IdentityRef(r.person_id, r.network, r.key, r.nick, r.authenticated) for r in rows]

    async def find_identity(self, network: str, who: str) -> IdentityRef | None:
        """An identity on `network` by its stable id or (most recently seen) nick."""
        who = who if ":" in who else who.removeprefix("@")
        async with self._store.read() as s:
            row = (
                await s.scalars(
                    select(Identity)
                    .where(Identity.network == network)
                    .where(
                        (Identity.key == self.fold(network, who))
                        | (func.lower(Identity.nick) == who.lower())
                    )
                    .order_by((Identity.key == self.fold(network, who)).desc())
                    .order_by(Identity.last_seen.desc())
                    .limit(1)
                )
            ).first()
        if row is None:
            return None
        return IdentityRef(row.person_id, row.network, row.key, row.nick, row.authenticated)

    async def has_identity_in(self, person_id: int, listed: frozenset[str]) -> bool:
        """Whether any identity of the person has a key in `listed` (case-folded), such
        as the admins of the config: rights follow the person across networks."""
        now = self._clock.now()
        cached = self._keys.get(person_id)
        if cached is None or now - cached[1] >= _REFRESH:
            async with self._store.read() as s:
                keys = (
                    await s.scalars(select(Identity.key).where(Identity.person_id == person_id))
                ).all()
            cached = (frozenset(k.casefold() for k in keys), now)
            self._keys[person_id] = cached
        return not cached[0].isdisjoint(listed)

    async def merge(self, keep: int, gone: int) -> PersonRef:
        """Make two people one: `gone`'s identities and everything that refers to `gone`
        move to `keep`, in one transaction. Rows that would then clash with a unique
        constraint (the same person on the same team twice) are `gone`'s and are dropped."""
        if keep == gone:
            raise ValueError("a person cannot be merged with themselves")
        async with self._store.write() as s:
            survivor = await s.get(Person, keep)
            if survivor is None or await s.get(Person, gone) is None:
                raise LookupError(f"no person {keep if survivor is None else gone}")
            await _repoint_people(s, keep, gone)
            await s.execute(delete(Person).where(Person.id == gone))
            ref = PersonRef(survivor.id, survivor.name)
        self._seen = {k: v for k, v in self._seen.items() if v.person.id not in (keep, gone)}
        self._keys.pop(keep, None)
        self._keys.pop(gone, None)
        return ref


def _person_columns(table: Table) -> list[Column[int]]:
    people = Person.__table__
    return [fk.parent for fk in table.foreign_keys if fk.column.table is people]


def _unique_sets(table: Table) -> list[tuple[list[str], ColumnElement[bool] | None]]:
    """Column names of each unique constraint and unique index (with its WHERE, if
    partial), including the primary key and single unique columns."""
    sets: list[tuple[list[str], ColumnElement[bool] | None]] = []
    for constraint in table.constraints:
        if isinstance(constraint, UniqueConstraint | PrimaryKeyConstraint):
            sets.append(([c.name for c in constraint.columns], None))
    for column in table.columns:
        if column.unique:
            sets.append(([column.name], None))
    for index in table.indexes:
        if index.unique:
            kwargs = index.dialect_kwargs
            where = kwargs.get("sqlite_where")
            if where is None:
                where = kwargs.get("postgresql_where")
            sets.append(([c.name for c in index.columns], where))
    return sets


async def _repoint_people(s: AsyncSession, keep: int, gone: int) -> None:
    """Every foreign key to people.id in every table the models know, found from the
    metadata so that the core needs to know nothing about feature tables."""
    for table in Base.metadata.sorted_tables:
        if table is Person.__table__:
            continue
        for column in _person_columns(table):
            for names, where in _unique_sets(table):
                if column.name in names:
                    await _drop_clashes(s, table, column, names, where, keep, gone)
            await s.execute(update(table).where(column == gone).values({column.name: keep}))


async def _drop_clashes(
    s: AsyncSession,
    table: Table,
    column: Column[int],
    names: list[str],
    where: ColumnElement[bool] | None,
    keep: int,
    gone: int,
) -> None:
    others = [table.c[n] for n in names if n != column.name]
    extra = [] if where is None else [where]
    wanted = others or [literal(1)]
    kept = {tuple(r) for r in (await s.execute(select(*wanted).where(column == keep, *extra)))}
    if not kept:
        return
    pk = list(table.primary_key.columns)
    rows = (await s.execute(select(*pk, *wanted).where(column == gone, *extra))).all()
    clashing = [tuple(r[: len(pk)]) for r in rows if tuple(r[len(pk) :]) in kept]
    if clashing:
        await s.execute(delete(table).where(tuple_(*pk).in_(clashing)))


async def _identity(s: AsyncSession, network: str, key: str) -> Identity | None:
    return (
        await s.execute(select(Identity).where(Identity.network == network, Identity.key == key))
    ).scalar_one_or_none()
