"""Deploys marked from the command line: `deployday deploy start|end|record`, for a
playbook or CI job on a host that reaches the database. The command writes the change and
a notice of it in one transaction; the running bot claims the notice within seconds, then
announces the change and tells the other features, exactly as if it was typed in chat."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Connection, delete, exists, insert, select, update

from bot.commands import UserError
from bot.plugin import PluginAPI
from bot.store.workers import Unit
from plugins.common.chat import duration, plural
from plugins.common.checks import check_deploy_name, check_environment
from plugins.deploys.day import announce_end, announce_start, started
from plugins.deploys.deployments import DeploymentService, deployed
from plugins.deploys.service import DeployService, Ended
from plugins.intake.pipeline import check_description
from plugins.intake.settings import IntakeSettings
from plugins.models import PipelineNotice

log = logging.getLogger(__name__)
T = TypeVar("T")

PICK_UP_EVERY = timedelta(seconds=2)
KEEP_CLAIMED = timedelta(days=1)
BATCH = 50
STARTED, ENDED, DEPLOYMENT = "started", "ended", "deployment"
LATER = "the running bot announces it in chat within seconds"


def configure(p: argparse.ArgumentParser) -> None:
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    start = actions.add_parser("start", help="start a deploy day (announced by the running bot)")
    start.add_argument("name", help="the deploy's name; a plan of that name is picked up")
    start.add_argument("--api-break", action="store_true", help="it breaks an API")
    start.add_argument("--env", help="the environment it deploys to")
    start.add_argument("-d", "--description", help="what changes")
    actions.add_parser("end", help="end the deploy day under way (the digest follows)")
    record = actions.add_parser("record", help="record a deployment of a service, any day")
    record.add_argument("service")
    record.add_argument("--version", help="what was deployed: 2.3.1, a commit hash")
    record.add_argument("--env", help="where to: production, staging")
    record.add_argument("--by", help="who or what deployed it (a person, a CI job)")


class Offline:
    def __init__(self, api: PluginAPI, settings: IntakeSettings) -> None:
        self._api = api
        self._settings = settings

    async def run(self, args: argparse.Namespace) -> int:
        """`deployday deploy …`: 0 when written, 1 with one line on stderr when refused."""
        try:
            print(await self._write(args))
        except UserError as exc:
            print(f"deployday deploy: {exc}", file=sys.stderr)
            return 1
        print(LATER)
        return 0

    async def _write(self, args: argparse.Namespace) -> str:
        api, now = self._api, self._api.clock.now()
        if args.action == "record":
            service = DeploymentService.of(api)
            unit = service.recording(args.service, args.version, args.env, args.by, now, "cli")
            view = await api.store.write(_noted(unit, DEPLOYMENT, lambda v: v.id, now))
            return deployed(view).plain
        deploys = DeployService.of(api)
        if args.action == "end":
            ended = await api.store.write(
                _noted(
                    deploys.ending(now),
                    ENDED,
                    lambda e: e.deploy.id,
                    now,
                    lambda e: {"checked_out": e.checked_out},
                )
            )
            d = ended.deploy
            took = duration((d.ended_at or now) - d.started_at)
            people = plural(ended.checked_out, "person", "people")
            return f"deploy {d.name} ended after {took}; {people} checked out"
        by = await api.people.ensure("console", api.config.console.user)
        unit = deploys.starting(
            check_deploy_name(args.name),
            args.api_break,
            check_description(args.description),
            by,
            now,
            check_environment(args.env) if args.env else None,
        )
        deploy = await api.store.write(_noted(unit, STARTED, lambda d: d.id, now))
        return started(deploy, api.config.prefix).plain

    async def pick_up(self) -> None:
        """Announce what the command line did since the last look (a scheduled job)."""
        store = self._api.store
        waiting = exists().where(PipelineNotice.claimed_at.is_(None))
        if not await store.read(lambda c: c.scalar(select(waiting))):
            return
        now = self._api.clock.now()
        for kind, subject, detail in await store.write(lambda c: _claim(c, now)):
            try:
                await self._tell(kind, subject, json.loads(detail or "{}"))
            except Exception:
                log.exception("announcing %s %d from the command line failed", kind, subject)

    async def _tell(self, kind: str, subject: int, detail: dict[str, Any]) -> None:
        if kind == DEPLOYMENT:
            view = await DeploymentService.of(self._api).get(subject)
            if view is not None and self._settings.announce_deployments:
                await self._api.announce(deployed(view))
            return
        deploy = await DeployService.of(self._api).get(subject)
        if deploy is None:
            log.warning("deploy %d of a %s notice is gone; nothing announced", subject, kind)
        elif kind == STARTED:
            await announce_start(self._api, deploy)
        else:
            await announce_end(self._api, Ended(deploy, int(detail.get("checked_out", 0))))


def _noted(
    unit: Unit[T],
    kind: str,
    subject: Callable[[T], int],
    now: datetime,
    detail: Callable[[T], dict[str, Any]] | None = None,
) -> Unit[T]:
    """`unit`, and a notice of what it did for the running bot, in the same transaction."""

    def both(conn: Connection) -> T:
        result = unit(conn)
        conn.execute(
            insert(PipelineNotice),
            {
                "kind": kind,
                "subject_id": subject(result),
                "detail": json.dumps(detail(result)) if detail else None,
                "created_at": now,
            },
        )
        return result

    return both


def _claim(conn: Connection, now: datetime) -> list[tuple[str, int, str | None]]:
    """Take the oldest unclaimed notices (on PostgreSQL, skipping any another instance is
    taking) and forget those claimed long ago."""
    rows = conn.execute(
        select(PipelineNotice.id, PipelineNotice.kind, PipelineNotice.subject_id)
        .add_columns(PipelineNotice.detail)
        .where(PipelineNotice.claimed_at.is_(None))
        .order_by(PipelineNotice.id)
        .limit(BATCH)
        .with_for_update(skip_locked=True)
    ).all()
    if rows:
        conn.execute(
            update(PipelineNotice)
            .where(PipelineNotice.id.in_([r.id for r in rows]))
            .values(claimed_at=now)
        )
    conn.execute(delete(PipelineNotice).where(PipelineNotice.claimed_at < now - KEEP_CLAIMED))
    return [(r.kind, r.subject_id, r.detail) for r in rows]
