"""!checkin, !checkout, !oncall, !roster add/remove and !page: who must be reachable."""

from __future__ import annotations

from bot.commands import Example, Level, Text, command
from bot.messages import Reply, addressed, bold, text
from bot.plugin import Context, Plugin
from plugins import MIGRATIONS
from plugins.common.chat import ClockTimes, duration
from plugins.roster.service import Planned, RosterService
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
        at = ClockTimes(self.api.config.tz, ctx.now)
        by_team: dict[str, list[str]] = {}
        for shift in shifts:
            by_team.setdefault(shift.team, []).append(
                f"{shift.person.name} (since {at(shift.on_at)})"
            )
        return Reply.of(
            "on duty: "
            + "; ".join(f"{team}: {', '.join(names)}" for team, names in by_team.items())
        )

    @command(
        "roster",
        help="who is on each team's roster: on duty or not, since when",
        examples=[
            Example(
                "!roster",
                r"infra: alice \(on duty since \d\d:\d\d UTC\), bob \(not checked in yet\)",
                setup=("!roster add bob infra", "!checkin infra"),
            )
        ],
    )
    async def roster(self, ctx: Context) -> Reply:
        roster = RosterService.of(self.api)
        planned = await roster.roster()
        if not planned:
            return Reply.of(
                f"nobody is on the roster; an admin adds people with "
                f"{ctx.prefix}roster add <who> <team>"
            )
        at = ClockTimes(self.api.config.tz, ctx.now)
        by_team: dict[str, list[str]] = {team: [] for team in roster.teams}
        for p in planned:
            by_team.setdefault(p.team, []).append(f"{p.person.name} ({_duty(p, at)})")
        return Reply.of(
            *(f"{team}: {', '.join(names) or 'nobody'}" for team, names in by_team.items())
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
                r"bob: page for infra from alice \(nobody on duty\) — pkgdb is down",
                setup=("!roster add bob infra",),
            )
        ],
    )
    async def page(self, ctx: Context, target: str, message: Text | None = None) -> Reply:
        roster = RosterService.of(self.api)
        team = target.lower()
        if team in roster.teams:
            members = await roster.team(team)
            if not members:
                return Reply.of(
                    f"nobody is on the {team} roster; an admin adds people "
                    f"with {ctx.prefix}roster add <who> {team}"
                )
            ids = [m.person.id for m in members]
            duty = ", ".join(m.person.name for m in members if m.on_duty)
            head, paged = f"page for {team}", team
            by = f" from {ctx.person.name} ({f'on duty: {duty}' if duty else 'nobody on duty'})"
        else:
            named = await self.api.people.find(ctx.network, target)
            if named is None:
                return Reply.of(
                    f"{target[:40]} is neither a team ({', '.join(roster.teams)}) "
                    "nor someone I have seen here"
                )
            ids, head, by = [named.person.id], "page", f" from {ctx.person.name}"
            paged = named.shown
        await roster.record_page(ctx.person, paged, message, ctx.now)
        mentions = await self.api.people.mentions(ids)
        about = f" — {message}" if message else ""
        line = addressed((mentions[i] for i in ids), [bold(head), text(by + about)])
        reply = Reply.of(line)
        elsewhere = {net for m in reply.mentions for net, _, _ in m.ids} - {ctx.network}
        if elsewhere:
            await self.api.announce(reply, origin=ctx.message, networks=elsewhere)
        return reply


def _duty(p: Planned, at: ClockTimes) -> str:
    if p.on_at is not None and p.off_at is None:
        return (
            f"on duty since {at(p.on_at)}"
            if p.shift_team == p.team
            else f"on duty for {p.shift_team}"
        )
    if p.off_at is not None:
        return f"off duty since {at(p.off_at)}"
    return "not checked in yet"
