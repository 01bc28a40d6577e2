"""The rows change-failure figures are made of, read in one unit of work: deployments,
deploy days that recorded none (with their plan's service), and the incidents that may
follow them. `changes.change_report` does the rest in Python."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from sqlalchemy import Connection, exists, func, select

from plugins.incidents.lifecycle import Status
from plugins.metrics.changes import Change, ChangeReport, Reported, change_report
from plugins.metrics.stats import Timeline
from plugins.models import Deploy, Deployment, DeployPlan, Incident


def reading_changes(
    since: datetime, until: datetime, window: timedelta, service: str | None = None
) -> Callable[[Connection], ChangeReport]:
    """The unit that reads what the figures of [since, until) need: changes from a window
    before it (they may explain an incident in it) to a window after it (a later change
    may take the blame for an incident after the end), incidents to a window after it.
    With `service`, only that service's changes and incidents."""

    def unit(conn: Connection) -> ChangeReport:
        start, end = since - window, until + window
        changes = _deployments(conn, start, end, service) + _bare_days(conn, start, end, service)
        incidents = _incidents(conn, since, end, service)
        return change_report(changes, incidents, since, until, window)

    return unit


def first_change(conn: Connection) -> datetime | None:
    """When the first deployment or deploy day was: where "all time" begins."""
    firsts = [
        conn.scalar(select(func.min(Deployment.at))),
        conn.scalar(select(func.min(Deploy.started_at))),
    ]
    return min((f for f in firsts if f is not None), default=None)


def _deployments(
    conn: Connection, start: datetime, end: datetime, service: str | None
) -> list[Change]:
    stmt = select(Deployment.at, Deployment.service, Deployment.deploy_id).where(
        Deployment.at >= start, Deployment.at < end
    )
    if service is not None:
        stmt = stmt.where(Deployment.service == service)
    return [Change(*row) for row in conn.execute(stmt)]


def _bare_days(
    conn: Connection, start: datetime, end: datetime, service: str | None
) -> list[Change]:
    """Deploy days that recorded no deployment: one change each, of their plan's service."""
    recorded = exists().where(Deployment.deploy_id == Deploy.id)
    stmt = (
        select(Deploy.started_at, DeployPlan.service, Deploy.id)
        .outerjoin(DeployPlan, DeployPlan.deploy_id == Deploy.id)
        .where(Deploy.started_at >= start, Deploy.started_at < end, ~recorded)
    )
    if service is not None:
        stmt = stmt.where(DeployPlan.service == service)
    return [Change(*row) for row in conn.execute(stmt)]


def _incidents(
    conn: Connection, start: datetime, end: datetime, service: str | None
) -> Iterator[Reported]:
    """Without their first response: change failure needs only when they were repaired;
    without duplicates, which fail nothing (the report of the same breakage twice)."""
    stmt = select(
        Incident.number,
        Incident.service,
        Incident.status,
        Incident.created_at,
        Incident.fixed_at,
        Incident.deploy_id,
    ).where(
        Incident.created_at >= start,
        Incident.created_at < end,
        Incident.status != Status.DUPLICATE.value,
    )
    if service is not None:
        stmt = stmt.where(Incident.service == service)
    # streamed, not listed: `blame` keeps only the blamed ones' numbers and TTRs
    for number, svc, status, at, fixed, deploy_id in conn.execute(stmt):
        yield Reported(Timeline(number, svc, _STATUS[status], at, None, fixed), deploy_id)


_STATUS = {s.value: s for s in Status}
