"""People behind chat identities. A person may have one identity per network; commands
refer to people, and transports turn them back into mentions on their own network."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    PrimaryKeyConstraint,
    Row,
    Table,
    UniqueConstraint,
    delete,
    func,
    insert,
    literal,
    select,
    tuple_,
    update,
)
from sqlalchemy.exc import IntegrityError

from bot.clock import Clock
from bot.commands import UserError
from bot.messages import Mention, Sender
from bot.store import Base, Identity, Person, Store
from bot.text import clean

Fold = Callable[[str, str], str]  # (network, name) -> case-folded name
_REFRESH = timedelta(minutes=10)
MAX_NAME_CHARS = 255  # an identity key or a name typed for one (Matrix IDs reach 255)


def bounded(who: str) -> str:
    """A name typed in a command, refused in one line when no identity can be that long."""
    if len(who) > MAX_NAME_CHARS:
        raise UserError(f"a name or ID is at most {MAX_NAME_CHARS} characters; got {len(who):,}")
    return who


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
                return await self._store.write(lambda c: _upsert(c, network, sender, now))
            except IntegrityError:
                continue  # created concurrently by another process; read it
        raise RuntimeError(f"could not record identity {network}/{sender.id}")

    async def lookup(self, network: str, who: str) -> PersonRef | None:
        """Find someone by nick or account on this network, or by their person name."""
        who = bounded(who)
        who = who if ":" in who else who.removeprefix("@")  # Matrix IDs keep their '@'
        folded = self.fold(network, who)
        by_identity = (
            select(Person.id, Person.name)
            .join(Identity)
            .where(Identity.network == network)
            .where((Identity.key == folded) | (func.lower(Identity.nick) == who.lower()))
            .order_by(Identity.last_seen.desc())
            .limit(1)
        )
        by_name = select(Person.id, Person.name).where(func.lower(Person.name) == who.lower())

        def find(c: Connection) -> Row[Any] | None:
            return c.execute(by_identity).first() or c.execute(by_name.limit(1)).first()

        row = await self._store.read(find)
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
            select(*_IDENTITY_COLUMNS)
            .where(Identity.person_id == person_id)
            .order_by(Identity.network, Identity.key)
        )
        rows = await self._store.read(lambda c: c.execute(stmt).all())
        return [IdentityRef(*r) for r in rows]

    async def find_identity(self, network: str, who: str) -> IdentityRef | None:
        """An identity on `network` by its stable id or (most recently seen) nick."""
        who = bounded(who)
        who = who if ":" in who else who.removeprefix("@")
        stmt = (
            select(*_IDENTITY_COLUMNS)
            .where(Identity.network == network)
            .where(
                (Identity.key == self.fold(network, who))
                | (func.lower(Identity.nick) == who.lower())
            )
            .order_by((Identity.key == self.fold(network, who)).desc())
            .order_by(Identity.last_seen.desc())
            .limit(1)
        )
        row = await self._store.read(lambda c: c.execute(stmt).first())
        return None if row is None else IdentityRef(*row)

    async def has_identity_in(self, person_id: int, listed: frozenset[str]) -> bool:
        """Whether any identity of the person has a key in `listed` (case-folded), such
        as the admins of the config: rights follow the person across networks."""
        now = self._clock.now()
        cached = self._keys.get(person_id)
        if cached is None or now - cached[1] >= _REFRESH:
            stmt = select(Identity.key).where(Identity.person_id == person_id)
            keys = await self._store.read(lambda c: c.scalars(stmt).all())
            cached = (frozenset(k.casefold() for k in keys), now)
            self._keys[person_id] = cached
        return not cached[0].isdisjoint(listed)

    async def merge(self, keep: int, gone: int) -> PersonRef:
        """Make two people one: `gone`'s identities and everything that refers to `gone`
        move to `keep`, in one transaction. Rows that would then clash with a unique
        constraint (the same person on the same team twice) are `gone`'s and are dropped."""
        if keep == gone:
            raise ValueError("a person cannot be merged with themselves")
        ref = await self._store.write(lambda c: _merge(c, keep, gone))
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


def _merge(conn: Connection, keep: int, gone: int) -> PersonRef:
    rows = conn.execute(select(Person.id, Person.name).where(Person.id.in_([keep, gone])))
    names = {r.id: r.name for r in rows}
    if keep not in names or gone not in names:
        raise LookupError(f"no person {keep if keep not in names else gone}")
    _repoint_people(conn, keep, gone)
    conn.execute(delete(Person).where(Person.id == gone))
    return PersonRef(keep, names[keep])


def _repoint_people(conn: Connection, keep: int, gone: int) -> None:
    """Every foreign key to people.id in every table the models know, found from the
    metadata so that the core needs to know nothing about feature tables."""
    for table in Base.metadata.sorted_tables:
        if table is Person.__table__:
            continue
        for column in _person_columns(table):
            for names, where in _unique_sets(table):
                if column.name in names:
                    _drop_clashes(conn, table, column, names, where, keep, gone)
            conn.execute(update(table).where(column == gone).values({column.name: keep}))


def _drop_clashes(
    conn: Connection,
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
    kept = {tuple(r) for r in conn.execute(select(*wanted).where(column == keep, *extra))}
    if not kept:
        return
    pk = list(table.primary_key.columns)
    rows = conn.execute(select(*pk, *wanted).where(column == gone, *extra)).all()
    clashing = [tuple(r[: len(pk)]) for r in rows if tuple(r[len(pk) :]) in kept]
    if clashing:
        conn.execute(delete(table).where(tuple_(*pk).in_(clashing)))


def _upsert(conn: Connection, network: str, sender: Sender, now: datetime) -> PersonRef:
    """The person behind an identity, created with it on first sight; the nick and
    last-seen time kept current."""
    row = conn.execute(
        select(Identity.id, Identity.key, Identity.authenticated, Person.id, Person.name)
        .join(Person, Person.id == Identity.person_id)
        .where(Identity.network == network, Identity.key == sender.id)
    ).first()
    if row is None:
        person_id = conn.execute(
            insert(Person).values(name=sender.nick[:64], created_at=now).returning(Person.id)
        ).scalar_one()
        conn.execute(
            insert(Identity).values(
                person_id=person_id,
                network=network,
                key=sender.id,
                nick=sender.nick,
                authenticated=sender.authenticated,
                last_seen=now,
            )
        )
        return PersonRef(person_id, sender.nick[:64])
    identity_id, key, authenticated, person_id, name = row
    if name == key != sender.nick:
        # named by id in a command before they spoke (`!roster add @bob:example.org`): the
        # name they go by is better
        name = sender.nick[:64]
        conn.execute(update(Person).where(Person.id == person_id).values(name=name))
    conn.execute(
        update(Identity)
        .where(Identity.id == identity_id)
        .values(
            nick=sender.nick, last_seen=now, authenticated=authenticated or sender.authenticated
        )
    )
    return PersonRef(person_id, name)


_IDENTITY_COLUMNS = (
    Identity.person_id,
    Identity.network,
    Identity.key,
    Identity.nick,
    Identity.authenticated,
)
