"""Who is planned for which team (the roster) and who is on duty now (shifts)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from bot.commands import UserError
from bot.people import PersonRef
from bot.plugin import PluginAPI
from bot.store import Person, Store
from plugins.common.checks import check_team
from plugins.models import Deploy, DutyShift, RosterEntry


@dataclass(frozen=True, slots=True)
class Shift:
    person: PersonRef
    team: str
    on_at: datetime


@dataclass(frozen=True, slots=True)
class CheckIn:
    shift: Shift
    switched_from: str | None


@dataclass(frozen=True, slots=True)
class CheckOut:
    team: str
    on_duty_for: timedelta


@dataclass(frozen=True, slots=True)
class Planned:
    """Someone on a team's roster, and their latest duty shift (for any team), if any."""

    team: str
    person: PersonRef
    shift_team: str | None
    on_at: datetime | None
    off_at: datetime | None


@dataclass(frozen=True, slots=True)
class TeamMember:
    person: PersonRef
    on_duty: bool


class RosterService:
    def __init__(self, store: Store, teams: Sequence[str], prefix: str) -> None:
        self._store = store
        self.teams = tuple(teams)
        self._p = prefix

    @staticmethod
    def of(api: PluginAPI) -> RosterService:
        """The app's one RosterService."""
        return api.shared(_roster_service)

    def check_team(self, team: str) -> str:
        return check_team(team, self.teams)

    async def add(self, person: PersonRef, team: str, by: PersonRef, now: datetime) -> bool:
        """True if added, False if they were on that team already."""
        team = self.check_team(team)
        try:
            async with self._store.write() as s:
                if await s.scalar(
                    select(RosterEntry.id).where(
                        RosterEntry.person_id == person.id, RosterEntry.team == team
                    )
                ):
                    return False
                s.add(RosterEntry(person_id=person.id, team=team, added_by=by.id, added_at=now))
        except IntegrityError:
            return False
        return True

    async def remove(self, person: PersonRef, now: datetime) -> list[str]:
        """Take someone off every team (and off duty). Returns the teams they were on."""
        async with self._store.write() as s:
            teams = list(
                (
                    await s.scalars(
                        select(RosterEntry.team)
                        .where(RosterEntry.person_id == person.id)
                        .order_by(RosterEntry.team)
                    )
                ).all()
            )
            await s.execute(delete(RosterEntry).where(RosterEntry.person_id == person.id))
            shift = await _open_shift(s, person.id)
            if shift is not None:
                shift.off_at = now
        return teams

    async def roster(self) -> list[Planned]:
        """Everyone on the roster, by team and name, with their latest shift."""
        async with self._store.read() as s:
            return await s.run_sync(_roster)

    async def is_member(self, person_id: int) -> bool:
        async with self._store.read() as s:
            return bool(await s.scalar(select(exists().where(RosterEntry.person_id == person_id))))

    async def teams_of(self, person_id: int) -> list[str]:
        async with self._store.read() as s:
            return list(
                (
                    await s.scalars(
                        select(RosterEntry.team)
                        .where(RosterEntry.person_id == person_id)
                        .order_by(RosterEntry.id)
                    )
                ).all()
            )

    async def check_in(
        self, person: PersonRef, team: str | None, now: datetime, self_checkin: bool
    ) -> CheckIn:
        async with self._store.write() as s:
            teams = list(
                (
                    await s.scalars(
                        select(RosterEntry.team)
                        .where(RosterEntry.person_id == person.id)
                        .order_by(RosterEntry.id)
                    )
                ).all()
            )
            if team is None:
                if not teams:
                    raise UserError(
                        f"say which team: {self._p}checkin <team> ({', '.join(self.teams)})"
                    )
                team = teams[0]
            team = self.check_team(team)
            if team not in teams:
                if not self_checkin:
                    raise UserError(
                        f"you are not on the {team} roster; ask an admin to "
                        f"{self._p}roster add {person.name} {team}"
                    )
                s.add(RosterEntry(person_id=person.id, team=team, added_by=person.id, added_at=now))
            current = await _open_shift(s, person.id)
            switched = None
            if current is not None:
                if current.team == team:
                    raise UserError(f"you are already on duty for {team}")
                switched, current.off_at = current.team, now
                await s.flush()
            deploy_id = await s.scalar(select(Deploy.id).where(Deploy.status == "active"))
            s.add(DutyShift(person_id=person.id, team=team, deploy_id=deploy_id, on_at=now))
        return CheckIn(Shift(person, team, now), switched)

    async def check_out(self, person: PersonRef, now: datetime) -> CheckOut:
        async with self._store.write() as s:
            shift = await _open_shift(s, person.id)
            if shift is None:
                raise UserError("you are not on duty")
            shift.off_at = now
            return CheckOut(shift.team, now - shift.on_at)

    async def on_duty(self) -> list[Shift]:
        async with self._store.read() as s:
            return await shifts_on_duty(s)

    async def team(self, team: str) -> list[TeamMember]:
        """Everyone planned for `team` and anyone on duty for it, on-duty people first."""
        team = self.check_team(team)
        async with self._store.read() as s:
            planned = (
                await s.execute(
                    select(Person.id, Person.name)
                    .join(RosterEntry, RosterEntry.person_id == Person.id)
                    .where(RosterEntry.team == team)
                    .order_by(Person.name)
                )
            ).all()
            duty = (
                await s.execute(
                    select(Person.id, Person.name)
                    .join(DutyShift, DutyShift.person_id == Person.id)
                    .where(DutyShift.team == team, DutyShift.off_at.is_(None))
                )
            ).all()
        on = {r.id for r in duty}
        people = {r.id: r.name for r in [*duty, *planned]}
        members = [TeamMember(PersonRef(pid, name), pid in on) for pid, name in people.items()]
        return sorted(members, key=lambda m: (not m.on_duty, m.person.name.lower()))


def _roster(s: Session) -> list[Planned]:
    latest = (
        select(DutyShift.person_id, func.max(DutyShift.id).label("id"))
        .group_by(DutyShift.person_id)
        .subquery()
    )
    rows = s.execute(
        select(
            RosterEntry.team,
            Person.id,
            Person.name,
            DutyShift.team,
            DutyShift.on_at,
            DutyShift.off_at,
        )
        .join(Person, Person.id == RosterEntry.person_id)
        .outerjoin(latest, latest.c.person_id == Person.id)
        .outerjoin(DutyShift, DutyShift.id == latest.c.id)
        .order_by(RosterEntry.team, Person.name)
    ).all()
    return [Planned(r[0], PersonRef(r[1], r[2]), r[3], r[4], r[5]) for r in rows]


def _roster_service(api: PluginAPI) -> RosterService:
    return RosterService(api.store, api.config.teams, api.config.prefix)


async def _open_shift(s: AsyncSession, person_id: int) -> DutyShift | None:
    return (
        await s.execute(
            select(DutyShift)
            .where(DutyShift.person_id == person_id, DutyShift.off_at.is_(None))
            .with_for_update()
        )
    ).scalar_one_or_none()


async def shifts_on_duty(s: AsyncSession) -> list[Shift]:
    """Who is on duty now, by team, earliest first; inside the caller's transaction."""
    rows = (
        await s.execute(
            select(Person.id, Person.name, DutyShift.team, DutyShift.on_at)
            .join(Person, Person.id == DutyShift.person_id)
            .where(DutyShift.off_at.is_(None))
            .order_by(DutyShift.team, DutyShift.on_at)
        )
    ).all()
    return [Shift(PersonRef(r.id, r.name), r.team, r.on_at) for r in rows]
