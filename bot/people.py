"""People behind chat identities. A person may have one identity per network; commands
refer to people, and transports turn them back into mentions on their own network."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.messages import Mention, Sender
from bot.store import Identity, Person, Store

Fold = Callable[[str, str], str]  # (network, name) -> case-folded name
_REFRESH = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class PersonRef:
    id: int
    name: str


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
        for _ in range(2):
            try:
                async with self._store.write() as s:
                    ident = await _identity(s, network, sender.id)
                    if ident is None:
                        person = Person(name=sender.nick, created_at=now)
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


async def _identity(s: AsyncSession, network: str, key: str) -> Identity | None:
    return (
        await s.execute(select(Identity).where(Identity.network == network, Identity.key == key))
    ).scalar_one_or_none()
