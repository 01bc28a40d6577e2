"""!checkin, !checkout, !oncall, !roster add/remove and !page: who must be reachable."""

from __future__ import annotations

from bot.commands import Example, Level, Text, command
from bot.messages import Inline, Reply, bold, text
from bot.plugin import Context, Plugin
from plugins import MIGRATIONS
from plugins.common.chat import clock_time, duration
from plugins.roster.service import RosterService
from plugins.roster.settings import RosterSettings


class RosterPlugin(Plugin):
    name = "roster"
    settings_key = "roster"
    Settings = RosterSettings
    migrations = MIGRATIONS / "versions"

    grants = (Level.MEMBER,)

    async def has_level(self, person_id: int, level: Level) -> bool:
        return level is Level.MEMBER and await RosterService.of(self.api).is_member(person_id)

    @command(
        "checkin",
        help="go on duty (for your roster team, or the one named)",
        examples=[Example("!checkin infra", r"on duty for infra")],
    )
    async def checkin(self, ctx: Context, team: str | None = None) -> Reply:
        may_join = self.settings.self_checkin or ctx.level is Level.ADMIN
        result = await RosterService.of(self.api).check_in(ctx.person, team, ctx.now, may_join)
        switched = f" (was {result.switched_from})" if result.switched_from else ""
        return Reply.of(f"{ctx.person.name} is on duty for {result.shift.team}{switched}")

    @command(
        "checkout",
        help="go off duty",
        examples=[Example("!checkout", r"off duty after", setup=("!checkin infra",))],
    )
    async def checkout(self, ctx: Context) -> Reply:
        result = await RosterService.of(self.api).check_out(ctx.person, ctx.now)
        return Reply.of(
            f"{ctx.person.name} is off duty after {duration(result.on_duty_for)} "
            f"for {result.team}; thank you"
        )

    @command(
        "oncall",
        help="who is on duty now, by team, since when",
        examples=[Example("!oncall", r"on duty: infra: alice", setup=("!checkin infra",))],
    )
    async def oncall(self, ctx: Context) -> Reply:
        shifts = await RosterService.of(self.api).on_duty()
        if not shifts:
            return Reply.of(f"nobody is on duty; {ctx.prefix}checkin <team> to go on duty")
        tz = self.api.config.tz
        by_team: dict[str, list[str]] = {}
        for shift in shifts:
            by_team.setdefault(shift.team, []).append(
                f"{shift.person.name} (since {clock_time(shift.on_at, tz, ctx.now)})"
            )
        return Reply.of(
            "on duty: "
            + "; ".join(f"{team}: {', '.join(names)}" for team, names in by_team.items())
        )

    @command(
        "roster add",
        level=Level.ADMIN,
        help="plan someone for a team",
        examples=[Example("!roster add bob infra", r"bob is on the infra roster")],
    )
    async def roster_add(self, ctx: Context, who: str, team: str) -> Reply:
        roster = RosterService.of(self.api)
        team = roster.check_team(team)
        named = await self.api.people.find_or_record(ctx.network, who)
        added = await roster.add(named.person, team, ctx.person, ctx.now)
        return Reply.of(f"{named.shown} is on the {team} roster" + ("" if added else " already"))

    @command(
        "roster remove",
        level=Level.ADMIN,
        help="take someone off every team",
        examples=[
            Example(
                "!roster remove bob",
                r"bob is off the roster \(was infra\)",
                setup=("!roster add bob infra",),
            )
        ],
    )
    async def roster_remove(self, ctx: Context, who: str) -> Reply:
        named = await self.api.people.find(ctx.network, who)
        teams = await RosterService.of(self.api).remove(named.person, ctx.now) if named else []
        if not named or not teams:
            return Reply.of(f"{who[:40]} is not on the roster")
        return Reply.of(f"{named.shown} is off the roster (was {', '.join(teams)})")

    @command(
        "page",
        usage="<team|who> [message…]",
        help="highlight a team's people (on duty first) or one person",
        examples=[
            Example(
                "!page infra pkgdb is down",
                r"page for infra.*bob",
                setup=("!roster add bob infra",),
            )
        ],
    )
    async def page(self, ctx: Context, target: str, message: Text | None = None) -> Reply:
        roster = RosterService.of(self.api)
        if target.lower() in roster.teams:
            members = await roster.team(target)
            if not members:
                return Reply.of(
                    f"nobody is on the {target.lower()} roster; an admin adds people "
                    f"with {ctx.prefix}roster add <who> {target.lower()}"
                )
            mentions = await self.api.people.mentions(m.person.id for m in members)
            spans: list[Inline] = [
                bold(f"page for {target.lower()}"),
                text(f" from {ctx.person.name}: "),
            ]
            for i, member in enumerate(members):
                if i:
                    spans.append(text(", "))
                spans.append(mentions[member.person.id])
                if member.on_duty:
                    spans.append(text(" (on duty)"))
        else:
            named = await self.api.people.find(ctx.network, target)
            if named is None:
                return Reply.of(
                    f"{target[:40]} is neither a team ({', '.join(roster.teams)}) "
                    "nor someone I have seen here"
                )
            person = named.person
            mention = (await self.api.people.mentions([person.id]))[person.id]
            spans = [bold("page"), text(f" from {ctx.person.name}: "), mention]
        if message:
            spans.append(text(f" — {message}"))
        reply = Reply.of(spans)
        elsewhere = {net for m in reply.mentions for net, _, _ in m.ids} - {ctx.network}
        if elsewhere:
            await self.api.announce(reply, origin=ctx.message, networks=elsewhere)
        return reply
