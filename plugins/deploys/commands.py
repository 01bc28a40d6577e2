"""!deploy start/end/status and !lead: the deploy day itself, announced everywhere."""

from __future__ import annotations

from bot.commands import Example, Level, Text, UserError, command
from bot.messages import Reply, bold, text
from bot.plugin import Context, Plugin
from plugins import MIGRATIONS
from plugins.common.chat import ClockTimes, duration, plural
from plugins.common.checks import check_deploy_name, check_environment
from plugins.deploys.day import announce_end, announce_start
from plugins.deploys.service import DeployService, DeployView
from plugins.metrics.service import MetricsService, Scope
from plugins.roster.service import RosterService


class DeploysPlugin(Plugin):
    name = "deploys"
    migrations = MIGRATIONS / "versions"

    @command(
        "deploy start",
        level=Level.ADMIN,
        help="start a deploy day and announce it on every network",
        examples=[
            Example(
                "!deploy start pkgdb2 --api-break new packages API",
                r"deploy pkgdb2 started.*API BREAK",
            )
        ],
    )
    async def deploy_start(
        self,
        ctx: Context,
        name: str,
        description: Text | None = None,
        *,
        api_break: bool = False,
        env: str | None = None,
    ) -> None:
        name = check_deploy_name(name)
        environment = check_environment(env) if env is not None else None
        deploy = await DeployService.of(self.api).start(
            name, api_break, description, ctx.person, ctx.now, environment
        )
        await announce_start(self.api, deploy, origin=ctx.message)
        return None

    @command(
        "deploy end",
        level=Level.ADMIN,
        help="end the deploy day (checks everyone out)",
        examples=[
            Example("!deploy end", r"deploy pkgdb2 ended after", setup=("!deploy start pkgdb2",))
        ],
    )
    async def deploy_end(self, ctx: Context) -> None:
        ended = await DeployService.of(self.api).end(ctx.now)
        await announce_end(self.api, ended, origin=ctx.message)
        return None

    @command(
        "deploy",
        help="what deploy is under way, since when, who leads",
        examples=[Example("!deploy", r"no deploy is under way")],
    )
    async def deploy_status(self, ctx: Context) -> Reply:
        deploy = await DeployService.of(self.api).active()
        if deploy is None:
            return Reply.of(
                f"no deploy is under way; an admin starts one with "
                f"{ctx.prefix}deploy start <name> [--api-break] [description]"
            )
        summary = await MetricsService.of(self.api).summary(Scope(deploy.name, deploy_id=deploy.id))
        on_duty = len(await RosterService.of(self.api).on_duty())
        return Reply.of(
            [
                *describe(deploy, ctx),
                text(f"; {plural(summary.total, 'incident')} ({summary.open} open), "),
                text(f"{on_duty} on duty"),
            ]
        )

    @command(
        "lead",
        help="show the deploy lead, or (admins) set it",
        examples=[
            Example(
                "!lead alice", r"alice now leads deploy pkgdb2", setup=("!deploy start pkgdb2",)
            )
        ],
    )
    async def lead(self, ctx: Context, who: str | None = None) -> Reply:
        deploys = DeployService.of(self.api)
        if who is None:
            deploy = await deploys.active()
            if deploy is None:
                return Reply.of("no deploy is under way, so nobody leads")
            if deploy.lead is None:
                return Reply.of(
                    f"deploy {deploy.name} has no lead yet; an admin sets one with "
                    f"{ctx.prefix}lead <who>"
                )
            mention = (await self.api.people.mentions([deploy.lead.id]))[deploy.lead.id]
            return Reply.of([mention, text(f" leads deploy {deploy.name}")])
        if ctx.level < Level.ADMIN:
            raise UserError(f"setting the lead is for admins; {ctx.prefix}lead shows who leads")
        person = await self.api.people.ensure(ctx.network, who)
        deploy = await deploys.set_lead(person)
        mention = (await self.api.people.mentions([person.id]))[person.id]
        return Reply.of([mention, text(f" now leads deploy {deploy.name}")])


def describe(deploy: DeployView, ctx: Context) -> list:
    at = ClockTimes(ctx.api.config.tz, ctx.now)
    parts = [text("deploy "), bold(deploy.name)]
    if deploy.api_break:
        parts.append(text(" (API break)"))
    parts.append(
        text(f" under way since {at(deploy.started_at)} ({duration(ctx.now - deploy.started_at)})")
    )
    parts.append(text(f", lead {deploy.lead.name}" if deploy.lead else ", no lead yet"))
    return parts
