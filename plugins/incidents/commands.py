"""Incident commands: report, triage, own, annotate, close, list and show."""

from __future__ import annotations

import difflib

from bot.commands import Example, Level, Text, UserError, command
from bot.messages import Inline, Line, Mention, Reply, bold, text
from bot.people import PersonRef
from bot.plugin import Context, Plugin
from plugins import MIGRATIONS
from plugins.common.chat import ClockTimes, duration, plural
from plugins.incidents.args import IncidentNumber, Severity
from plugins.incidents.lifecycle import Action
from plugins.incidents.service import Change, IncidentService, IncidentView
from plugins.incidents.settings import IncidentSettings
from plugins.incidents.views import (
    context_spans,
    describe_event,
    detail_spans,
    fixed,
    incident_spans,
    number,
    reported,
    status_label,
)

OPENED = ("!break pkgdb2 API returns 500 on /packages",)
LISTS = ("open", "all", "mine")  # what !incidents lists besides one service's


class IncidentsPlugin(Plugin):
    name = "incidents"
    settings_key = "incidents"
    Settings = IncidentSettings
    migrations = MIGRATIONS / "versions"

    @command(
        "break",
        aliases=("report",),
        help="report a breakage; the reply gives its #N",
        examples=[
            Example(
                "!break pkgdb2 API returns 500 on /packages",
                r"#1 opened: \[sev3\] pkgdb2: API returns 500 on /packages",
            ),
            Example(
                "!break koji --env staging --sev 2 builds stuck",
                r"#1 opened: \[sev2\] koji: builds stuck \(staging\)",
            ),
            Example(
                "!break pkgdb --consumer fedora-review review tool gets 410",
                r"#1 opened: \[sev3\] pkgdb: review tool gets 410 \(consumer fedora-review\)"
                r".*\nfedora-review is not a known consumer of pkgdb",
            ),
        ],
    )
    async def report(
        self,
        ctx: Context,
        service: str,
        summary: Text,
        *,
        sev: Severity | None = None,
        env: str | None = None,
        consumer: str | None = None,
    ) -> Reply:
        incident = await IncidentService.of(self.api).report(
            service,
            summary,
            sev,
            ctx.person,
            ctx.network,
            ctx.message.room.id,
            ctx.when,
            environment=env,
            consumer=consumer,
        )
        await self.api.announce(reported(incident), origin=ctx.message)
        n = incident.number
        return Reply.of(
            [
                number(n),
                text(" opened: "),
                *detail_spans(incident.service, incident.severity, incident.summary),
                *context_spans(incident),
                text(f" — {ctx.prefix}take {n} to own it"),
            ],
            *_context_lines(incident, ctx.prefix),
        )

    @command(
        "sev",
        level=Level.MEMBER,
        help="set an incident's severity (1 is worst)",
        examples=[Example("!sev 1 2", r"#1 is now sev2", setup=OPENED)],
    )
    async def sev(self, ctx: Context, n: IncidentNumber, severity: Severity) -> Reply:
        await self._act(ctx, n, Action.SEVERITY, severity=severity)
        return Reply.of([number(n), text(f" is now sev{severity}")])

    @command(
        "ack",
        level=Level.MEMBER,
        help="acknowledge an incident without owning it",
        examples=[Example("!ack 1", r"#1 acknowledged by alice", setup=OPENED)],
    )
    async def ack(self, ctx: Context, n: IncidentNumber) -> Reply:
        await self._act(ctx, n, Action.ACK)
        return Reply.of([number(n), text(f" acknowledged by {ctx.person.name}")])

    @command(
        "take",
        level=Level.MEMBER,
        help="own an incident",
        examples=[Example("!take #1", r"#1 is now owned by alice", setup=OPENED)],
    )
    async def take(self, ctx: Context, n: IncidentNumber) -> Reply:
        change = await self._act(ctx, n, Action.TAKE)
        return Reply.of(
            [number(n), text(f" is now owned by {ctx.person.name}"), *_was_unacked(change, ctx)]
        )

    @command(
        "assign",
        level=Level.MEMBER,
        help="give an incident to someone",
        examples=[
            Example(
                "!assign 1 bob",
                r"#1 assigned to bob by alice",
                setup=(*OPENED, "!roster add bob infra"),
            )
        ],
    )
    async def assign(self, ctx: Context, n: IncidentNumber, who: str) -> Reply:
        person = await self.api.people.lookup(ctx.network, who)
        if person is None:
            raise UserError(
                f"I don't know {who[:40]} here yet; they need to say something where "
                f"I can see it, or an admin can {ctx.prefix}roster add {who[:40]} <team>"
            )
        await self._act(ctx, n, Action.ASSIGN, target=person)
        mention = await self._mention(person)
        return Reply.of([number(n), text(" assigned to "), mention, text(f" by {ctx.person.name}")])

    @command(
        "note",
        help="add a line to an incident's timeline",
        examples=[Example("!note 1 rolled back the config", r"noted on #1", setup=OPENED)],
    )
    async def note(self, ctx: Context, n: IncidentNumber, note: Text) -> Reply:
        await self._act(ctx, n, Action.NOTE, detail=note)
        return Reply.of([text("noted on "), number(n)])

    @command(
        "followup",
        help="mark something to do after the day (listed in the digest)",
        examples=[
            Example(
                "!followup 1 add a CI check for missing indexes",
                r"follow-up noted on #1",
                setup=OPENED,
            )
        ],
    )
    async def followup(self, ctx: Context, n: IncidentNumber, todo: Text) -> Reply:
        await self._act(ctx, n, Action.FOLLOWUP, detail=todo)
        return Reply.of([text("follow-up noted on "), number(n), text(" for the digest")])

    @command(
        "fixed",
        level=Level.MEMBER,
        help="mark an incident repaired",
        examples=[
            Example(
                "!fixed 1 reverted the schema change",
                r"#1 pkgdb2 fixed by alice after \d",
                setup=OPENED,
            )
        ],
    )
    async def fixed(self, ctx: Context, n: IncidentNumber, resolution: Text | None = None) -> Reply:
        change = await self._act(ctx, n, Action.FIX, detail=resolution)
        reply = fixed(change.incident, ctx.person.name, ctx.now, resolution)
        await self.api.announce(reply, origin=ctx.message)
        return reply

    @command(
        "reopen",
        help="reopen a closed incident (it broke again)",
        examples=[
            Example("!reopen 1 still failing", r"#1 reopened by alice", setup=(*OPENED, "!fixed 1"))
        ],
    )
    async def reopen(self, ctx: Context, n: IncidentNumber, why: Text | None = None) -> Reply:
        change = await self._act(ctx, n, Action.REOPEN, detail=why)
        owner = change.incident.owner
        spans: list[Inline] = [number(n), text(f" reopened by {ctx.person.name}")]
        if why:
            spans.append(text(f": {why}"))
        if owner is not None:
            spans += [text(" — "), await self._mention(owner), text(" still owns it")]
        return Reply.of(spans)

    @command(
        "wontfix",
        level=Level.MEMBER,
        help="close an incident without fixing it",
        examples=[
            Example("!wontfix 1 expected with the new API", r"#1 closed as won't fix", setup=OPENED)
        ],
    )
    async def wontfix(self, ctx: Context, n: IncidentNumber, why: Text | None = None) -> Reply:
        await self._act(ctx, n, Action.WONTFIX, detail=why)
        return Reply.of(
            [number(n), text(" closed as won't fix"), *([text(f": {why}")] if why else [])]
        )

    @command(
        "dup",
        level=Level.MEMBER,
        help="close an incident as a duplicate of another",
        examples=[
            Example(
                "!dup 2 1",
                r"#2 closed as a duplicate of #1",
                setup=(*OPENED, "!break pkgdb2 500 errors"),
            )
        ],
    )
    async def dup(self, ctx: Context, n: IncidentNumber, of: IncidentNumber) -> Reply:
        await self._act(ctx, n, Action.DUPLICATE, other=int(of))
        return Reply.of([number(n), text(" closed as a duplicate of "), number(of)])

    @command(
        "incidents",
        usage="[open|all|mine|<service>]",
        help="list incidents: open (default), all, yours, or one service's",
        examples=[Example("!incidents", r"1 open incident.*#1", setup=OPENED)],
    )
    async def incidents(self, ctx: Context, which: str = "open") -> Reply:
        listing = IncidentService.of(self.api).listing
        limit = self.settings.list_limit
        which = which.lower()
        if which in LISTS:
            page = await listing(which, person=ctx.person, limit=limit)  # type: ignore[arg-type]
            kind = {"open": "open incident", "all": "incident", "mine": "incident"}[which]
            owned = " you own" if which == "mine" else ""
        else:
            page = await listing("service", service=which, limit=limit)
            kind, owned = f"{which} incident", ""
        if not page.incidents:
            close = difflib.get_close_matches(which, LISTS, n=1) if which not in LISTS else []
            if close:  # a service nobody reported, spelled like a list: a typo
                return Reply.of(
                    f"no incidents of a service {which[:40]}; did you mean "
                    f"{ctx.prefix}incidents {close[0]}?"
                )
            return Reply.of(f"no {kind}s{owned}")
        heading = f"{plural(page.total, kind)}{owned}"
        if page.total > len(page.incidents):
            heading += f" (latest {len(page.incidents)} shown; {ctx.prefix}show N for one)"
        lines: list[list[Inline]] = [[bold(heading)]]
        for inc in page.incidents:
            age = f", {duration(ctx.now - inc.created_at)} old" if inc.status.is_open else ""
            lines.append(
                [
                    *incident_spans(inc.number, inc.service, inc.severity, inc.summary),
                    text(f" — {status_label(inc.status, _name(inc.owner))}{age}"),
                ]
            )
        return Reply.of(*lines)

    @command(
        "show",
        help="one incident with its timeline",
        examples=[Example("!show 1", r"#1 \[sev3\] pkgdb2.*\n.*alice reported", setup=OPENED)],
    )
    async def show(self, ctx: Context, n: IncidentNumber) -> Reply:
        incident, events = await IncidentService.of(self.api).show(n)
        at = ClockTimes(self.api.config.tz, ctx.now)
        head: list[Inline] = [
            *incident_spans(n, incident.service, incident.severity, incident.summary),
            text(f" — {status_label(incident.status, _name(incident.owner))}"),
        ]
        context = [
            *([f"deploy {incident.deploy}"] if incident.deploy else []),
            *([f"env {incident.environment}"] if incident.environment else []),
            *([f"consumer {incident.consumer}"] if incident.consumer else []),
            *(["unknown consumer"] if incident.consumer_known is False else []),
            *(["pointed at staging?"] if incident.staging_mixup else []),
        ]
        if context:
            head.append(text(f" ({', '.join(context)})"))
        lines = [Line(tuple(head))]
        for event in events:
            lines.append(Line((text(f"{at(event.at)} "), text(describe_event(event)))))
        return Reply.of(*lines)

    async def _act(self, ctx: Context, n: int, action: Action, **kw: object) -> Change:
        return await IncidentService.of(self.api).act(
            n, action, ctx.person, ctx.when, network=ctx.network, room=ctx.message.room.id, **kw
        )  # type: ignore[arg-type]

    async def _mention(self, person: PersonRef) -> Mention:
        return (await self.api.people.mentions([person.id]))[person.id]


def _name(person: PersonRef | None) -> str | None:
    return person.name if person else None


def _context_lines(incident: IncidentView, p: str) -> list[str]:
    """What the context of a new report says: a consumer nobody knew, a staging mix-up."""
    lines = []
    if incident.consumer_known is False:
        lines.append(
            f"{incident.consumer} is not a known consumer of {incident.service}: noted for the "
            f"digest; an admin records it with {p}catalog add-consumer {incident.service} "
            f"{incident.consumer} <team>"
        )
    if incident.staging_mixup:
        lines.append(
            f"pointed at staging? #{incident.number} is on {incident.environment} during "
            f"production deploy {incident.deploy}; a ported script may still use staging"
        )
    return lines


def _was_unacked(change: Change, ctx: Context) -> list[Inline]:
    if change.first_response:
        return [
            text(
                f" (acknowledged {duration(ctx.now - change.incident.created_at)} after the report)"
            )
        ]
    return []
