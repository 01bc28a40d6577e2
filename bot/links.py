"""The database work of linking: two people made one, or one identity split off into a
person of its own, each in one transaction with its record in `identity_links`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    PrimaryKeyConstraint,
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

from bot.store import Base, Identity, LinkEvent, Person

LINKED = "linked"
UNLINKED = "unlinked"


@dataclass(frozen=True, slots=True)
class LinkRecord:
    """What `!whoami` shows of a link or unlink; identities in their qualified form."""

    at: datetime
    action: str
    identity: str
    other: str | None
    actor: str


def merge(conn: Connection, keep: int, gone: int, record: LinkRecord) -> tuple[int, str]:
    """Make two people one: `gone`'s identities and everything that refers to `gone` move
    to `keep`. Rows that would then clash with a unique constraint (the same person on the
    same team twice) are `gone`'s and are dropped. Returns (id, name) of the person kept."""
    rows = conn.execute(select(Person.id, Person.name).where(Person.id.in_([keep, gone])))
    names = {r.id: r.name for r in rows}
    if keep not in names or gone not in names:
        raise LookupError(f"no person {keep if keep not in names else gone}")
    _repoint_people(conn, keep, gone)
    conn.execute(delete(Person).where(Person.id == gone))
    _write(conn, keep, record)
    return keep, names[keep]


def split_off(
    conn: Connection, network: str, key: str, record: LinkRecord, now: datetime
) -> tuple[int, int, str] | None:
    """Give the identity (network, key) a person of its own, leaving everything else (the
    roster, incidents) with the person it leaves. Returns (old person, new person, new
    name), or None when the identity is unknown or its person has no other identity."""
    row = conn.execute(
        select(Identity.id, Identity.person_id, Identity.nick).where(
            Identity.network == network, Identity.key == key
        )
    ).first()
    if row is None:
        return None
    held = conn.scalar(
        select(func.count()).select_from(Identity).where(Identity.person_id == row.person_id)
    )
    if held < 2:
        return None
    name = row.nick[:64]
    new = conn.execute(
        insert(Person).values(name=name, created_at=now).returning(Person.id)
    ).scalar_one()
    conn.execute(update(Identity).where(Identity.id == row.id).values(person_id=new))
    _write(conn, row.person_id, record)
    _write(conn, new, record)
    return row.person_id, new, name


def history(conn: Connection, person_id: int, limit: int) -> list[LinkRecord]:
    """The person's latest links and unlinks, newest first."""
    rows = conn.execute(
        select(LinkEvent.at, LinkEvent.action, LinkEvent.identity, LinkEvent.other, LinkEvent.actor)
        .where(LinkEvent.person_id == person_id)
        .order_by(LinkEvent.at.desc(), LinkEvent.id.desc())
        .limit(limit)
    )
    return [LinkRecord(*r) for r in rows]


def _write(conn: Connection, person_id: int, record: LinkRecord) -> None:
    conn.execute(
        insert(LinkEvent).values(
            at=record.at,
            person_id=person_id,
            action=record.action,
            identity=record.identity,
            other=record.other,
            actor=record.actor,
        )
    )


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
