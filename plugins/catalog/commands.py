"""The service catalogue in chat: `!catalog`, `!catalog add-consumer`, `!consumers`; and
the routine at the start of an API-breaking deploy: an essential service pages the teams
of its known consumers, a leaf service gets the lighter routine the config chooses."""

from __future__ import annotations

import logging

from bot.commands import Example, Level, command
from bot.messages import Inline, Line, Reply, addressed, bold, text
from bot.plugin import Context, Plugin
from plugins import MIGRATIONS
from plugins.catalog.service import CatalogService, ServiceInfo
from plugins.catalog.settings import CatalogSettings
from plugins.common.chat import ClockTimes, plural
from plugins.common.when import start_of_day
from plugins.deploys.service import DEPLOY_STARTED, DeployView
from plugins.incidents.service import IncidentService
from plugins.roster.service import RosterService

log = logging.getLogger(__name__)
ADDED = ("!catalog add-consumer pkgdb fedora-review qa",)


class CatalogPlugin(Plugin):
    name = "catalog"
    settings_key = "catalog"
    Settings = CatalogSettings
    migrations = MIGRATIONS / "versions"

    async def start(self) -> None:
        IncidentService.of(self.api).add_judge(CatalogService.of(self.api).judge)
        self.api.subscribe(DEPLOY_STARTED, self.on_deploy_started)

    @command(
        "catalog",
        help="the service catalogue, or one service with its consumers",
        examples=[
            Example("!catalog", r"1 service: pkgdb \(essential; 1 consumer\)", setup=ADDED),
            Example("!catalog pkgdb", r"pkgdb: essential.*fedora-review \(qa", setup=ADDED),
        ],
    )
    async def catalog(self, ctx: Context, service: str | None = None) -> Reply:
        catalog = CatalogService.of(self.api)
        if service is None:
            known = await catalog.entries()
            if not known:
                return Reply.of(
                    "the catalogue is empty; services are listed under catalog.services in the "
                    f"config, and {ctx.prefix}catalog add-consumer records consumers found on "
                    "the day"
                )
            listed = ", ".join(
                f"{s.name} ({s.criticality}; {plural(len(s.consumers), 'consumer')})" for s in known
            )
            return Reply.of(f"{plural(len(known), 'service')}: {listed}")
        info = await catalog.entry(service.lower())
        if info is None:
            return Reply.of(f"{service[:64]} is not in the catalogue; {ctx.prefix}catalog lists it")
        at = ClockTimes(self.api.config.tz, ctx.now)
        owner = f", owned by {info.team}" if info.team else ""
        consumers = ", ".join(
            f"{c.name} ({c.team}"
            + (f"; added by {c.added_by} {at(c.added_at)})" if c.added_by and c.added_at else ")")
            for c in info.consumers
        )
        return Reply.of(
            f"{info.name}: {info.criticality}{owner}; consumers: {consumers or 'none known'}"
        )

    @command(
        "catalog add-consumer",
        level=Level.ADMIN,
        usage="<service> <consumer> [team]",
        help="record a consumer found on the day, so the next API break pages its team",
        examples=[
            Example(
                ADDED[0],
                r"fedora-review is now a known consumer of pkgdb; the next API break of pkgdb "
                r"pages qa",
            )
        ],
    )
    async def add_consumer(
        self, ctx: Context, service: str, consumer: str, team: str | None = None
    ) -> Reply:
        found = await CatalogService.of(self.api).add_consumer(
            service, consumer, team, ctx.person, ctx.now
        )
        service = service.lower()
        return Reply.of(
            f"{found.name} is now a known consumer of {service}; the next API break of "
            f"{service} pages {found.team}"
        )

    @command(
        "consumers",
        help="consumers named in incidents today (--consumer), unknown ones first",
        examples=[
            Example(
                "!consumers",
                r"1 consumer hit today \(1 unknown\)\nunknown: fedora-review \(pkgdb #1\)",
                setup=("!break pkgdb --consumer fedora-review review tool fails",),
            )
        ],
    )
    async def consumers(self, ctx: Context) -> Reply:
        today = start_of_day(ctx.now, self.api.config.tz)
        hits = await CatalogService.of(self.api).hits(today)
        if not hits:
            return Reply.of(
                f"no incident named a consumer today; {ctx.prefix}break <service> --consumer "
                "<who> <what broke> names one"
            )
        unknown = [h for h in hits if not h.known]
        lines = [f"{plural(len(hits), 'consumer')} hit today ({len(unknown)} unknown)"]
        for label, group in (("unknown", unknown), ("known", [h for h in hits if h.known])):
            if group:
                lines.append(
                    f"{label}: "
                    + "; ".join(
                        f"{h.consumer} ({h.service} {', '.join(f'#{n}' for n in h.numbers)})"
                        for h in group
                    )
                )
        if unknown:
            lines.append(
                f"an admin records one with {ctx.prefix}catalog add-consumer <service> "
                "<consumer> <team>"
            )
        return Reply.of(*lines)

    async def on_deploy_started(self, deploy: object) -> None:
        """An API break of a catalogued service: page its consumers' teams (essential), or
        the lighter `leaf_routine` (leaf)."""
        if not isinstance(deploy, DeployView) or not deploy.api_break:
            return
        info = await CatalogService.of(self.api).changed_by(deploy.id, deploy.name)
        if info is None:
            return
        routine = "page" if info.criticality == "essential" else self.settings.leaf_routine
        if routine == "skip":
            return
        if not info.consumers:
            reply = Reply.of(
                f"the {info.name} API breaks and no consumers of it are known; report what "
                f"breaks with {self.api.config.prefix}break <service> --consumer <who> …"
            )
        elif routine == "list":
            listed = ", ".join(f"{c.name} ({c.team})" for c in info.consumers)
            reply = Reply.of(
                f"{info.name} is a leaf service: its known consumers are not paged: {listed}"
            )
        else:
            reply = Reply.of(await self.page(info))
        await self.api.announce(reply)

    async def page(self, info: ServiceInfo) -> Line:
        """Addressed to everyone on the consumers' teams' rosters; the line says which
        team stands for which consumers."""
        roster = RosterService.of(self.api)
        people: dict[int, None] = {}
        spans: list[Inline] = [
            bold(f"API break in {info.name}: "),
            text("paging the teams of its known consumers — "),
        ]
        for n, (team, consumers) in enumerate(info.teams.items()):
            spans.append(text(f"{'; ' if n else ''}{team} ({', '.join(consumers)}): "))
            if team not in self.api.config.teams:
                spans.append(text("not a team of this bot (see `teams:`)"))
                continue
            members = await roster.team(team)
            people.update(dict.fromkeys(m.person.id for m in members))
            named = [m.person.name + (" (on duty)" if m.on_duty else "") for m in members]
            spans.append(text(", ".join(named) or "nobody on its roster"))
        mentions = await self.api.people.mentions(people)
        return addressed((mentions[p] for p in people), spans)
