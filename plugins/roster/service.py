"""Who is planned for which team (the roster) and who is on duty now (shifts)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, bindparam, delete, exists, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.commands import UserError
from bot.people import PersonRef
from bot.plugin import PluginAPI
from bot.store import Person, Store
from plugins.common.checks import check_team
from plugins.models import Deploy, DutyShift, Page, RosterEntry


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
        entry = {"person_id": person.id, "team": team, "added_by": by.id, "added_at": now}

        def unit(conn: Connection) -> bool:
            if team in _teams_of(conn, person.id):
                return False
            conn.execute(insert(RosterEntry), entry)
            return True

        try:
            return await self._store.write(unit)
        except IntegrityError:
            return False

    async def remove(self, person: PersonRef, now: datetime) -> list[str]:
        """Take someone off every team (and off duty). Returns the teams they were on."""

        def unit(conn: Connection) -> list[str]:
            teams = sorted(_teams_of(conn, person.id))
            conn.execute(delete(RosterEntry).where(RosterEntry.person_id == person.id))
            conn.execute(_CLOSE_SHIFT, {"who": person.id, "now": now})
            return teams

        return await self._store.write(unit)

    async def record_page(
        self, by: PersonRef, target: str, message: str | None, now: datetime
    ) -> None:
        """Keep a page for the digest's timeline (the chat line itself is gone once sent)."""
        row = {"at": now, "by_id": by.id, "target": target[:64], "message": message}
        await self._store.write(lambda conn: conn.execute(insert(Page), row))

    async def roster(self) -> list[Planned]:
        """Everyone on the roster, by team and name, with their latest shift."""
        return await self._store.read(_roster)

    async def is_member(self, person_id: int) -> bool:
        return bool(await self._store.read(lambda c: c.scalar(_MEMBER, {"person_id": person_id})))

    async def teams_of(self, person_id: int) -> list[str]:
        return await self._store.read(lambda c: _teams_of(c, person_id))

    async def check_in(
        self, person: PersonRef, team: str | None, now: datetime, self_checkin: bool
    ) -> CheckIn:
        def unit(conn: Connection) -> CheckIn:
            teams = _teams_of(conn, person.id)
            chosen = self._team_to_check_in(person, team, teams, self_checkin)
            if chosen not in teams:
                conn.execute(
                    insert(RosterEntry),
                    {
                        "person_id": person.id,
                        "team": chosen,
                        "added_by": person.id,
                        "added_at": now,
                    },
                )
            current = conn.execute(_OPEN_SHIFT, {"person_id": person.id}).first()
            switched = None
            if current is not None:
                if current.team == chosen:
                    raise UserError(f"you are already on duty for {chosen}")
                switched = current.team
                conn.execute(_CLOSE_SHIFT, {"who": person.id, "now": now})
            deploy_id = conn.scalar(select(Deploy.id).where(Deploy.status == "active"))
            conn.execute(
                insert(DutyShift),
                {"person_id": person.id, "team": chosen, "deploy_id": deploy_id, "on_at": now},
            )
            return CheckIn(Shift(person, chosen, now), switched)

        return await self._store.write(unit)

    def _team_to_check_in(
        self, person: PersonRef, team: str | None, teams: list[str], self_checkin: bool
    ) -> str:
        if team is None:
            if not teams:
                raise UserError(
                    f"say which team: {self._p}checkin <team> ({', '.join(self.teams)})"
                )
            return teams[0]
        team = self.check_team(team)
        if team not in teams and not self_checkin:
            raise UserError(
                f"you are not on the {team} roster; ask an admin to "
                f"{self._p}roster add {person.name} {team}"
            )
        return team

    async def check_out(self, person: PersonRef, now: datetime) -> CheckOut:
        def unit(conn: Connection) -> CheckOut:
            shift = conn.execute(_OPEN_SHIFT, {"person_id": person.id}).first()
            if shift is None:
                raise UserError("you are not on duty")
            conn.execute(_CLOSE_SHIFT, {"who": person.id, "now": now})
            return CheckOut(shift.team, now - shift.on_at)

        return await self._store.write(unit)

    async def on_duty(self) -> list[Shift]:
        return await self._store.read(shifts_on_duty)

    async def team(self, team: str) -> list[TeamMember]:
        """Everyone planned for `team` and anyone on duty for it, on-duty people first."""
        team = self.check_team(team)
        planned_stmt = (
            select(Person.id, Person.name)
            .join(RosterEntry, RosterEntry.person_id == Person.id)
            .where(RosterEntry.team == team)
            .order_by(Person.name)
        )
        duty_stmt = (
            select(Person.id, Person.name)
            .join(DutyShift, DutyShift.person_id == Person.id)
            .where(DutyShift.team == team, DutyShift.off_at.is_(None))
        )
        planned, duty = await self._store.read(
            lambda c: (c.execute(planned_stmt).all(), c.execute(duty_stmt).all())
        )
        on = {r.id for r in duty}
        people = {r.id: r.name for r in [*duty, *planned]}
        members = [TeamMember(PersonRef(pid, name), pid in on) for pid, name in people.items()]
        return sorted(members, key=lambda m: (not m.on_duty, m.person.name.lower()))


def _roster(conn: Connection) -> list[Planned]:
    latest = (
        select(DutyShift.person_id, func.max(DutyShift.id).label("id"))
        .group_by(DutyShift.person_id)
        .subquery()
    )
    rows = conn.execute(
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


_MEMBER = select(exists().where(RosterEntry.person_id == bindparam("person_id")))
_OPEN_SHIFT = (
    select(DutyShift.id, DutyShift.team, DutyShift.on_at)
    .where(DutyShift.person_id == bindparam("person_id"), DutyShift.off_at.is_(None))
    .with_for_update()
)
_CLOSE_SHIFT = (
    update(DutyShift)
    .where(DutyShift.person_id == bindparam("who"), DutyShift.off_at.is_(None))
    .values(off_at=bindparam("now"))
)


def _teams_of(conn: Connection, person_id: int) -> list[str]:
    """The person's roster teams, in the order they were added (the first is theirs)."""
    stmt = select(RosterEntry.team).where(RosterEntry.person_id == person_id)
    return list(conn.scalars(stmt.order_by(RosterEntry.id)))


def shifts_on_duty(conn: Connection) -> list[Shift]:
    """Who is on duty now, by team, earliest first; inside the caller's unit of work."""
    rows = conn.execute(
        select(Person.id, Person.name, DutyShift.team, DutyShift.on_at)
        .join(Person, Person.id == DutyShift.person_id)
        .where(DutyShift.off_at.is_(None))
        .order_by(DutyShift.team, DutyShift.on_at)
    ).all()
    return [Shift(PersonRef(r.id, r.name), r.team, r.on_at) for r in rows]
