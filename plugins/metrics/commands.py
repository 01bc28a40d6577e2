"""!mttr: time to acknowledge and time to repair, from the event log."""

from __future__ import annotations

from bot.commands import Example, Text, UserError, command
from bot.messages import Reply
from bot.plugin import Context, Plugin
from plugins import MIGRATIONS
from plugins.common.checks import check_service
from plugins.common.when import start_of_day
from plugins.metrics.service import MetricsService, Scope
from plugins.metrics.views import render_summary


class MetricsPlugin(Plugin):
    name = "metrics"
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
