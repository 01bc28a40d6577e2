"""!mttr: time to acknowledge and time to repair, from the event log; !stats: change-failure
figures of a period."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from bot.commands import Example, Text, UserError, command
from bot.messages import Reply
from bot.plugin import Context, Plugin
from plugins import MIGRATIONS
from plugins.common.chat import plural
from plugins.common.checks import check_service
from plugins.common.when import parse_since, span, span_label, start_of_day
from plugins.metrics.change_views import render_stats
from plugins.metrics.service import MetricsService, Scope
from plugins.metrics.settings import MetricsSettings
from plugins.metrics.views import render_summary

DEFAULT_PERIOD = "30d"


class MetricsPlugin(Plugin):
    name = "metrics"
    settings_key = "metrics"
    Settings = MetricsSettings
    migrations = MIGRATIONS / "versions"

    @command(
        "mttr",
        usage="[deploy <name>|today|service <s>]",
        help="MTTA / MTTR summary (default: the active deploy, else today)",
        examples=[
            Example(
                "!mttr today",
                r"MTTR for today: 1 incident.*repair: n=1",
                setup=("!break pkgdb2 down", "!fixed 1"),
            )
        ],
    )
    async def mttr(self, ctx: Context, scope: Text | None = None) -> Reply:
        chosen = await self.scope(ctx, scope)
        summary = await MetricsService.of(self.api).summary(chosen)
        return render_summary(chosen.label, summary, ctx.now, ctx.prefix)

    @command(
        "stats",
        usage="[service] [--since DATE|7d|30d]",
        help="change-failure figures: deployments, how many an incident followed, time to "
        "restore (default: the last 30 days)",
        examples=[
            Example(
                "!stats --since 7d",
                r"Change failure, last 7 days: no deployments recorded",
            )
        ],
    )
    async def stats(
        self, ctx: Context, service: str | None = None, *, since: str | None = None
    ) -> Reply:
        name = check_service(service) if service is not None else None
        typed = (since or "").strip() or DEFAULT_PERIOD
        start = parse_since(typed, ctx.now, self.api.config.tz)
        window = self.settings.window
        report = await MetricsService.of(self.api).changes(start, ctx.now, window, name)
        return render_stats(report, _period(typed, start, self.api.config.tz), name, ctx.prefix)

    async def scope(self, ctx: Context, words: str | None) -> Scope:
        metrics = MetricsService.of(self.api)
        parts = (words or "").split()
        kind = parts[0].lower() if parts else ""
        if kind == "deploy" and len(parts) == 2:
            named = await metrics.deploy_scope(parts[1].lower())
            if named is None:
                raise UserError(f"no deploy named {parts[1][:40]!r}")
            return named
        if kind == "service" and len(parts) == 2:
            service = check_service(parts[1])
            return Scope(f"service {service}", service=service)
        if kind == "today" and len(parts) == 1:
            return Scope("today", since=start_of_day(ctx.now, self.api.config.tz))
        if not parts:
            active = await metrics.deploy_scope()
            if active is not None:
                return active
            return Scope("today", since=start_of_day(ctx.now, self.api.config.tz))
        raise UserError(f"usage: {ctx.prefix}mttr [deploy <name>|today|service <s>]")


def _period(typed: str, start: datetime, tz: tzinfo) -> str:
    """How a `!stats` period reads: last 30 days, last 12h, since 2026-11-25 00:00 CET."""
    back = span(typed)
    if back is None:
        return f"since {start.astimezone(tz):%Y-%m-%d %H:%M %Z}"
    if back == timedelta(days=back.days):
        return f"last {plural(back.days, 'day')}"
    return f"last {span_label(back)}"
