"""Incidents: report, act on (through the state machine), show and list. Every change
appends an event in the same transaction as the state it changes."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from typing import Any, Literal

from sqlalchemy import Connection, Row, func, insert, select
from sqlalchemy.orm.exc import StaleDataError

from bot.commands import UserError
from bot.people import PersonRef
from bot.plugin import PluginAPI
from bot.store import Store
from bot.store.db import next_counter
from bot.store.workers import Unit, writing
from plugins.common.checks import check_consumer, check_environment, check_service
from plugins.incidents.judges import NOTHING, Flags, Judge
from plugins.incidents.lifecycle import Action, Refused, State, Status, apply
from plugins.incidents.queries import (
    ACTIVE_DEPLOY,
    EVENTS,
    INCIDENTS,
    LOCKED,
    TIMELINE,
    VIEW,
    changed_columns,
    report_rows,
    save_change,
)
from plugins.incidents.records import Change, EventView, IncidentView, Page, as_view
from plugins.incidents.settings import IncidentSettings
from plugins.models import Incident

Listing = Literal["open", "all", "mine", "service"]


class IncidentService:
    def __init__(self, store: Store, limits: IncidentSettings, prefix: str) -> None:
        self._store = store
        self._limits = limits
        self._p = prefix
        self._judges: list[Judge] = []

    @staticmethod
    def of(api: PluginAPI) -> IncidentService:
        """The app's one IncidentService, shared by every feature that reports or reads
        incidents, so the judges added to it judge every report."""
        return api.shared(_incident_service)

    def add_judge(self, judge: Judge) -> None:
        """Have `judge` flag each new report. It runs inside the reporting transaction,
        so the flags are stored with the report; incidents work without any."""
        self._judges.append(judge)

    def _text(self, value: str, what: str, limit: int, hint: str = "") -> str:
        value = value.strip()
        if not value:
            raise UserError(f"the {what} is empty")
        if len(value) > limit:
            raise UserError(f"the {what} is {len(value)} characters; keep it under {limit}{hint}")
        return value

    def reporting(
        self,
        service: str,
        summary: str,
        severity: int | None,
        reporter: PersonRef,
        network: str,
        room: str,
        at: datetime,
        environment: str | None = None,
        consumer: str | None = None,
    ) -> Unit[IncidentView]:
        """Open an incident reported at `at` (when the report was said): its input is
        checked (a UserError if not) before the unit of work is made; `report` runs it,
        a feature may run it inside a larger unit (a webhook of many alerts)."""
        service = check_service(service)
        environment = check_environment(environment) if environment is not None else None
        consumer = check_consumer(consumer) if consumer is not None else None
        summary = self._text(
            summary,
            "summary",
            self._limits.max_summary_chars,
            f" and add details with {self._p}note",
        )
        severity = severity or self._limits.default_severity
        incident, event = report_rows(
            service, summary, severity, reporter.id, network, room, at, environment, consumer
        )

        def unit(conn: Connection) -> IncidentView:
            row = {**incident, "number": next_counter(conn, "incident")}
            deploy = conn.execute(ACTIVE_DEPLOY).first()
            deploy_id, deploy_environment, deploy_name = deploy or (None, None, None)
            flags = self._judged(conn, service, consumer, environment, deploy_environment)
            row.update(
                deploy_id=deploy_id,
                consumer_known=flags.consumer_known,
                staging_mixup=flags.staging_mixup,
            )
            incident_id = conn.execute(insert(INCIDENTS).returning(INCIDENTS.c.id), row).scalar()
            conn.execute(insert(EVENTS), {**event, "incident_id": incident_id})
            return as_view(SimpleNamespace(**row), reporter.name, None, deploy_name)

        return unit

    def _judged(
        self,
        conn: Connection,
        service: str,
        consumer: str | None,
        environment: str | None,
        deploy_environment: str | None,
    ) -> Flags:
        flags = NOTHING
        for judge in self._judges:
            flags = flags.merged(judge(conn, service, consumer, environment, deploy_environment))
        return flags

    def acting(
        self,
        number: int,
        action: Action,
        actor: PersonRef,
        at: datetime,
        *,
        network: str,
        room: str,
        target: PersonRef | None = None,
        detail: str | None = None,
        severity: int | None = None,
        other: int | None = None,
    ) -> Unit[Change]:
        """Apply `action`, said at `at` (never before the report: a network's clock may be
        off), and append its event (`act`; see `reporting`); inside, a UserError says why
        the action makes no sense now, or that someone changed it meanwhile."""
        detail = self._detail(number, action, detail)
        event = {
            "actor_id": actor.id,
            "kind": action.value,
            "detail": detail,
            "severity": severity,
            "target_id": target.id if target else None,
            "other_number": other,
            "network": network,
            "room": room,
        }

        def unit(conn: Connection) -> Change:
            try:
                return changed(conn)
            except StaleDataError:
                raise UserError(
                    f"#{number} was changed by someone else at the same moment; "
                    f"{self._p}show {number} and try again"
                ) from None

        def changed(conn: Connection) -> Change:
            row = _locked(conn, number, self._p)
            before = State(Status(row.status), row.owner_id)
            if action is Action.DUPLICATE:
                self._check_duplicate(conn, number, other)
            after = self._next(number, row, before, action, actor, target)
            when = max(at, row.created_at)
            changes = changed_columns(row, after, action, when, severity, other)
            save_change(conn, number, row, changes, {**event, "at": when})
            names = {before.owner_id: row.owner_name, actor.id: actor.name}
            if target is not None:
                names[target.id] = target.name
            view = as_view(
                SimpleNamespace(**{**row._mapping, **changes}),
                row.reporter_name,
                names.get(after.owner_id),
                row.deploy_name,
            )
            first = row.acknowledged_at is None and changes["acknowledged_at"] is not None
            return Change(view, first)

        return unit

    report = writing(reporting)
    act = writing(acting)

    def _detail(self, number: int, action: Action, detail: str | None) -> str | None:
        """The note, resolution or reason, checked; the actions that need one get it."""
        if detail is not None:
            detail = self._text(detail, "text", self._limits.max_note_chars) if detail else None
        if action is Action.NOTE and detail is None:
            raise UserError(f"say what to note: {self._p}note {number} <text>")
        if action is Action.FOLLOWUP and detail is None:
            raise UserError(f"say what should follow: {self._p}followup {number} <text>")
        return detail

    def _next(
        self,
        number: int,
        row: Row[Any],
        before: State,
        action: Action,
        actor: PersonRef,
        target: PersonRef | None,
    ) -> State:
        """The state after `action`, or a UserError saying why not and what would work."""
        try:
            return apply(before, action, actor.id, target.id if target else None)
        except Refused as refused:
            if action is Action.TAKE and before.owner_id not in (None, actor.id):
                raise UserError(
                    f"#{number} is owned by {row.owner_name}; {self._p}assign "
                    f"{number} {actor.name} to take it over"
                ) from None
            hint = (
                f"; {self._p}reopen {number} [why] if it is broken again"
                if not before.status.is_open
                else ""
            )
            raise UserError(f"#{number} {refused}{hint}") from None

    def _check_duplicate(self, conn: Connection, number: int, other: int | None) -> None:
        if other is None or other == number:
            raise UserError(f"#{number} cannot be a duplicate of itself")
        row = conn.execute(select(Incident.duplicate_of).where(Incident.number == other)).first()
        if row is None:
            raise UserError(f"there is no incident #{other}")
        if row.duplicate_of == number:
            raise UserError(f"#{other} is already a duplicate of #{number}")

    async def show(self, number: int) -> tuple[IncidentView, list[EventView]]:
        def unit(conn: Connection) -> tuple[IncidentView, list[EventView]]:
            head = conn.execute(VIEW.where(INCIDENTS.c.number == number)).first()
            if head is None:
                raise UserError(_missing(number, self._p))
            rows = conn.execute(TIMELINE, {"incident_id": head.id}).all()
            return _row_view(head), [
                EventView(
                    r.at,
                    r.actor,
                    Action(r.kind),
                    r.detail,
                    r.severity,
                    r.target,
                    r.other_number,
                    r.network,
                )
                for r in rows
            ]

        return await self._store.read(unit)

    async def listing(
        self,
        which: Listing,
        *,
        person: PersonRef | None = None,
        service: str | None = None,
        limit: int = 15,
    ) -> Page:
        """Open ones oldest first; otherwise the most recent `limit`, in number order."""
        cond = []
        if which == "open":
            cond.append(Incident.status.in_([Status.OPEN.value, Status.ACKNOWLEDGED.value]))
        elif which == "mine":
            assert person is not None
            cond.append(Incident.owner_id == person.id)
        elif which == "service":
            cond.append(Incident.service == check_service(service or ""))
        order = Incident.number.asc() if which == "open" else Incident.number.desc()
        # two statements, not a window count: the count is an index scan, while a window
        # would make the database build every matching row before the LIMIT
        count = select(func.count()).select_from(INCIDENTS).where(*cond)
        page = VIEW.where(*cond).order_by(order).limit(limit)

        def unit(conn: Connection) -> Page:
            total = conn.scalar(count)
            rows = conn.execute(page).all()
            return Page(sorted((_row_view(r) for r in rows), key=lambda v: v.number), total or 0)

        return await self._store.read(unit)


def _incident_service(api: PluginAPI) -> IncidentService:
    return IncidentService(
        api.store, api.config.section("incidents", IncidentSettings), api.config.prefix
    )


def _missing(number: int, prefix: str) -> str:
    return f"there is no incident #{number}; {prefix}incidents all lists them"


def _locked(conn: Connection, number: int, prefix: str) -> Row[Any]:
    """The incident to change, locked (PostgreSQL; SQLite's write lock is already held),
    with what the reply needs (names, when it was first acknowledged). One statement."""
    row = conn.execute(LOCKED, {"number": number}).first()
    if row is None:
        raise UserError(_missing(number, prefix))
    return row


def _row_view(row: Row[Any]) -> IncidentView:
    return as_view(row, row.reporter_name, row.owner_name, row.deploy_name)
