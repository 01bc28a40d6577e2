"""!mttr: time to acknowledge and time to repair, from the event log."""

from __future__ import annotations

from datetime import datetime, time, tzinfo

from bot.commands import Example, Text, UserError, command
from bot.messages import Reply, bold, text
from bot.plugin import Context, Plugin
from plugins import MIGRATIONS
from plugins.common.chat import duration
from plugins.incidents.lifecycle import Status
from plugins.incidents.service import check_service
from plugins.metrics.service import MetricsService, Scope
from plugins.metrics.stats import Stats, Summary


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


def start_of_day(now: datetime, tz: tzinfo) -> datetime:
    local = now.astimezone(tz)
    return datetime.combine(local.date(), time(0), tzinfo=tz)


def _stats_line(label: str, s: Stats) -> str:
    if s.count == 0:
        return f"{label}: none yet"
    return (
        f"{label}: n={s.count}, mean {duration(s.mean)}, median {duration(s.median)}, "
        f"p90 {duration(s.p90)}"
    )


def render_summary(label: str, summary: Summary, now: datetime, prefix: str) -> Reply:
    if summary.total == 0:
        return Reply.of(f"MTTR for {label}: no incidents")
    counts = ", ".join(
        f"{summary.by_status[s]} {s.label}" for s in Status if summary.by_status.get(s)
    )
    plural = "s" if summary.total != 1 else ""
    lines = [
        [bold(f"MTTR for {label}: "), text(f"{summary.total} incident{plural} — {counts}")],
        _stats_line("time to acknowledge", summary.tta),
        _stats_line("time to repair", summary.ttr),
    ]
    oldest = summary.oldest_open
    if oldest is not None:
        owner = f"owned by {oldest.owner}" if oldest.owner else "unowned"
        lines.append(
            f"open: {summary.open}; oldest #{oldest.number} {oldest.service}, "
            f"{duration(now - oldest.reported_at)} old, {owner}"
        )
    return Reply.of(*lines)
