"""Reminders and scheduled MTTR summaries while a deploy is under way, so nothing rots
unowned. Both post into channels unprompted, so both are off until the config says
otherwise (config.example.yaml turns them on)."""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.messages import Inline, Line, Mention, Reply, addressed, text
from bot.plugin import Plugin
from plugins import MIGRATIONS
from plugins.common.chat import duration, plural, post
from plugins.incidents.views import incident_spans
from plugins.metrics.service import MetricsService
from plugins.metrics.views import render_summary
from plugins.reminders.rules import Due, Kind
from plugins.reminders.service import ReminderService, Round
from plugins.reminders.settings import ReminderSettings
from plugins.roster.service import Shift

log = logging.getLogger(__name__)


class RemindersPlugin(Plugin):
    name = "reminders"
    settings_key = "reminders"
    Settings = ReminderSettings
    migrations = MIGRATIONS / "versions"

    async def start(self) -> None:
        cfg: ReminderSettings = self.settings
        if cfg.enabled:
            self.api.scheduler.every("reminders", timedelta(minutes=cfg.check_every), self.remind)
        if cfg.summary_every:
            self.api.scheduler.every(
                "mttr-summary", timedelta(minutes=cfg.summary_every), self.summarize
            )

    async def remind(self) -> None:
        cfg: ReminderSettings = self.settings
        now = self.api.clock.now()
        found = await ReminderService.of(self.api).claim(cfg.policy(), now)
        if found is None:
            return
        reply = await self.render(found)
        if reply is not None:
            await post(self.api, reply, cfg.rooms)

    async def render(self, found: Round) -> Reply | None:
        p = self.api.config.prefix
        if found.notice:
            return Reply.of(
                f"{plural(found.withheld, 'incident needs', 'incidents need')} attention but "
                f"nobody is on duty; {p}checkin <team> to go on duty, {p}incidents to see them"
            )
        if not found.reminders:
            return None
        people = {s.person.id for s in found.on_duty}
        people |= {d.incident.owner_id for d in found.reminders if d.incident.owner_id}
        mentions = await self.api.people.mentions(people)
        return Reply.of(*(self._line(d, found.on_duty, mentions, p) for d in found.reminders))

    def _line(self, d: Due, on_duty: list[Shift], mentions: dict[int, Mention], p: str) -> Line:
        """Addressed to whoever should act: the owner of a stale incident, else the
        people on duty for its service's team (or everyone on duty)."""
        i = d.incident
        spans: list[Inline] = incident_spans(i.number, i.service, i.severity, i.summary)
        waited = duration(d.waiting)
        if d.kind is Kind.STALE and i.owner_id is not None:
            spans.append(
                text(
                    f" has had no update for {waited}; {p}note {i.number} <progress> "
                    f"or {p}fixed {i.number}"
                )
            )
            return addressed([mentions[i.owner_id]], spans)
        if d.kind is Kind.IDLE:
            spans.append(text(f" was acknowledged but nobody owns it; no update for {waited}"))
        else:
            spans.append(text(f" has had no owner for {waited}"))
        team, people = self._responders(i.service, on_duty)
        duty = f"on duty for {team}" if team else "on duty"
        spans.append(text(f" — you are {duty}: {p}take {i.number} to own it"))
        return addressed((mentions[s.person.id] for s in people), spans)

    def _responders(self, service: str, on_duty: list[Shift]) -> tuple[str | None, list[Shift]]:
        """The service's team when someone of it is on duty, else everyone on duty."""
        team = self.settings.service_teams.get(service)
        of_team = [s for s in on_duty if s.team == team]
        return (team, of_team) if of_team else (None, on_duty)

    async def summarize(self) -> None:
        metrics = MetricsService.of(self.api)
        scope = await metrics.deploy_scope()
        if scope is None:
            return
        summary = await metrics.summary(scope)
        if summary.total == 0:
            return
        reply = render_summary(scope.label, summary, self.api.clock.now(), self.api.config.prefix)
        await post(self.api, reply, self.settings.summary_rooms)
