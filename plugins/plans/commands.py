"""Planned deploys: `!deploy plan/plans/move/cancel/expect` and `deployday plan`. A plan
is announced in every room and mailed to the lists, repeated T-minus on a schedule, and
picked up by `!deploy start <name>`; at the start the bot shows which expected responders
are on duty and later reminds the missing ones, once. Nobody is surprised by an API break."""

from __future__ import annotations

import argparse
import getpass
import logging
import re
import sys
from datetime import datetime, timedelta

from bot.commands import Example, Level, Text, UserError, command
from bot.messages import Reply, Sender, addressed, bold, text
from bot.people import PersonRef
from bot.plugin import Context, Plugin, PluginAPI, cli_command
from bot.text import clean
from plugins import MIGRATIONS
from plugins.catalog.service import CatalogService
from plugins.common.chat import ClockTimes, aside
from plugins.common.checks import check_deploy_name, check_environment
from plugins.common.mailing import Mailed, send_mail
from plugins.common.when import parse_when
from plugins.deploys.service import DEPLOY_STARTED, DeployView
from plugins.plans.cli import configure_cli
from plugins.plans.due import Missing, claim_due
from plugins.plans.feed import CalendarFeed
from plugins.plans.mail import mail_text
from plugins.plans.service import STARTED, Notice, PlanService, PlanView
from plugins.plans.settings import PlanSettings
from plugins.plans.views import CLI, Wording, announcement, checked_in, listing
from plugins.roster.service import RosterService

log = logging.getLogger(__name__)
MAX_DESCRIPTION = 500
# How stale the job's idea of "nothing is due before T" may get: plans made by another
# instance or from the command line are seen within this.
RESCAN = timedelta(minutes=10)
PLANNED = ("!deploy plan pkgdb2 2026-11-25 09:00 --api-break packages API v2",)


class PlansPlugin(Plugin):
    name = "plans"
    settings_key = "plans"
    Settings = PlanSettings
    migrations = MIGRATIONS / "versions"

    def __init__(self, api: PluginAPI) -> None:
        super().__init__(api)
        self._quiet_until: datetime | None = None
        self.calendar = CalendarFeed(api, lambda: self.settings)
        api.routes.add("GET", "/calendar.ics", self.calendar.serve, query_token=self.calendar.token)

    async def start(self) -> None:
        cfg: PlanSettings = self.settings
        self.api.subscribe(DEPLOY_STARTED, self.on_deploy_started)
        self.api.scheduler.every("plans", timedelta(minutes=cfg.check_every), self.tick)

    # --- chat commands ------------------------------------------------------------------

    @command(
        "deploy plan",
        level=Level.ADMIN,
        usage="<name> <date/time> [--api-break] [--env NAME] [--service NAME] [description…]",
        help="plan a deploy: announced everywhere, mailed, and repeated before it starts",
        examples=[
            Example(
                PLANNED[0],
                r"Planned: deploy pkgdb2 \(production\) on Wed 2026-11-25 09:00 UTC, in \d+d "
                r"— API BREAK — packages API v2",
            )
        ],
    )
    async def deploy_plan(
        self,
        ctx: Context,
        name: str,
        when: Text,
        *,
        api_break: bool = False,
        env: str | None = None,
        service: str | None = None,
    ) -> Reply:
        words = when.split()
        planned_for, used = parse_when(words, ctx.now, self.api.config.tz)
        description = " ".join(words[used:]) or None
        plan = await self.plan(
            ctx.person, name, planned_for, service, env, api_break, description, ctx.now
        )
        return await self._publish(ctx, Notice("planned", plan))

    @command(
        "deploy plans",
        help="the deploys planned, soonest first",
        examples=[Example("!deploy plans", r"1 planned deploy\n.*pkgdb2", setup=PLANNED)],
    )
    async def deploy_plans(self, ctx: Context) -> Reply:
        upcoming = await PlanService.of(self.api).upcoming()
        return Reply.of(*listing(upcoming, ctx.now, self.api.config.tz, Wording.chat(ctx.prefix)))

    @command(
        "deploy move",
        level=Level.ADMIN,
        usage="<name> <date/time>",
        help="move a planned deploy to another time (announced)",
        examples=[
            Example(
                "!deploy move pkgdb2 2026-11-26 14:00",
                r"Moved: deploy pkgdb2 \(production\) now on Thu 2026-11-26 14:00 UTC "
                r"\(was Wed 2026-11-25 09:00 UTC\)",
                setup=PLANNED,
            )
        ],
    )
    async def deploy_move(self, ctx: Context, name: str, when: Text) -> Reply:
        planned_for = self._when_all(when, ctx.now)
        plan = await PlanService.of(self.api).move(check_deploy_name(name), planned_for, ctx.now)
        self._quiet_until = None
        return await self._publish(ctx, Notice("moved", plan))

    @command(
        "deploy cancel",
        level=Level.ADMIN,
        help="cancel a planned deploy (announced)",
        examples=[
            Example(
                "!deploy cancel pkgdb2",
                r"Cancelled: deploy pkgdb2 \(production\), planned for Wed 2026-11-25 09:00 "
                r"UTC, is off",
                setup=PLANNED,
            )
        ],
    )
    async def deploy_cancel(self, ctx: Context, name: str) -> Reply:
        plan = await PlanService.of(self.api).cancel(check_deploy_name(name), ctx.now)
        self._quiet_until = None
        return await self._publish(ctx, Notice("cancelled", plan))

    @command(
        "deploy expect",
        level=Level.ADMIN,
        usage="<name> <team|who> [more…]",
        help="name the teams and people who should be reachable during a planned deploy",
        examples=[
            Example(
                "!deploy expect pkgdb2 releng bob",
                r"deploy pkgdb2 expects releng, bob",
                setup=PLANNED,
            )
        ],
    )
    async def deploy_expect(self, ctx: Context, name: str, who: Text) -> Reply:
        wanted: list[PersonRef | str] = []
        for word in re.split(r"[\s,]+", who.strip()):
            if word.lower() in self.api.config.teams:
                wanted.append(word.lower())
            elif word:
                wanted.append((await self.api.people.find_or_record(ctx.network, word)).person)
        plan, responders = await PlanService.of(self.api).expect(
            check_deploy_name(name), wanted, ctx.person, ctx.now
        )
        expected = f"deploy {plan.name} expects {', '.join(r.label for r in responders)}"
        if plan.status == STARTED:
            return Reply.of(f"{expected}; it is under way: {ctx.prefix}oncall shows who is on duty")
        return Reply.of(
            f"{expected}; at its start I show who is on duty and remind the others "
            f"{self.settings.responders_remind_after} minutes in"
        )

    def _when_all(self, when: str, now: datetime) -> datetime:
        words = when.split()
        planned_for, used = parse_when(words, now, self.api.config.tz)
        if used < len(words):
            raise UserError(f"unexpected {' '.join(words[used:])[:40]!r} after the time")
        return planned_for

    async def _publish(self, ctx: Context, notice: Notice) -> Reply:
        """Announce a change made in chat everywhere, mail it, and answer with both."""
        reply = await self.render(notice, ctx.now)
        await self.api.announce(reply, origin=ctx.message)
        mailed = await self.mail(notice, ctx.now)
        if mailed is None or self.api.config.mail is None:
            return reply  # no list wants it, or no mail server (said once in the log)
        line = mailed.line if mailed.ok else await aside(self.api, ctx.message, mailed.line)
        return reply + Reply.of(line) if line else reply

    # --- the work shared by chat and the command line -------------------------------------

    async def plan(
        self,
        by: PersonRef,
        name: str,
        when: datetime,
        service: str | None,
        env: str | None,
        api_break: bool,
        description: str | None,
        now: datetime,
        *,
        offline: bool = False,
    ) -> PlanView:
        name = check_deploy_name(name)
        description = clean(description or "").strip() or None  # the command line's too
        if description and len(description) > MAX_DESCRIPTION:
            raise UserError(
                f"the description is {len(description)} characters; keep it under {MAX_DESCRIPTION}"
            )
        try:
            checked = await CatalogService.of(self.api).check_planned(service or name)
        except UserError as exc:
            if service is not None:
                raise
            raise UserError(f"{exc}; say which it changes with --service <name>") from None
        environment = check_environment(env) if env is not None else self.settings.environment
        plan = await PlanService.of(self.api).create(
            name, checked, environment, api_break, description, when, by, now, offline=offline
        )
        self._quiet_until = None
        return plan

    async def render(self, notice: Notice, now: datetime, wording: Wording | None = None) -> Reply:
        """The announcement of `notice` (for chat unless `wording` says otherwise); an API
        break lists the known consumers."""
        plan = notice.plan
        info = None
        if plan.api_break and notice.kind != "cancelled":
            info = await CatalogService.of(self.api).entry(plan.service)
        wording = wording or Wording.chat(self.api.config.prefix)
        return announcement(notice, info, now, self.api.config.tz, wording)

    async def mail(self, notice: Notice, now: datetime) -> Mailed | None:
        """Mail the announcement to the configured lists; None when no list wants it."""
        cfg: PlanSettings = self.settings
        to = cfg.recipients(notice.plan)
        if not to or (notice.kind == "reminder" and not cfg.mail_reminders):
            return None
        info = await CatalogService.of(self.api).entry(notice.plan.service)
        subject, body = mail_text(notice, info, self.api.config.tz, now)
        what = f"announcement of deploy {notice.plan.name}"
        return await send_mail(self.api.config, to, subject, body, now, what)

    # --- scheduled work -----------------------------------------------------------------

    async def tick(self) -> None:
        """Post what fell due; between checks of the database, sleep until the next thing
        can fall due (at most RESCAN), so an idle bot does not query every minute."""
        now = self.api.clock.now()
        if self._quiet_until is not None and now < self._quiet_until:
            return
        cfg: PlanSettings = self.settings
        due = await claim_due(
            self.api.store, now, cfg.reminders, timedelta(minutes=cfg.responders_remind_after)
        )
        self._quiet_until = min(due.next_check or now + RESCAN, now + RESCAN)
        for notice in due.notices:
            try:
                await self.api.announce(await self.render(notice, now))
                await self.mail(notice, now)
            except Exception:  # one bad notice must not cost the others theirs
                log.exception(
                    "the %s announcement of deploy %r failed", notice.kind, notice.plan.name
                )
        if due.missing is not None:
            await self.api.announce(await self.remind(due.missing))

    async def remind(self, missing: Missing) -> Reply:
        """Ping the expected responders not on duty: people by name, teams by their
        roster; addressed to all of them, so each one's client highlights it."""
        roster = RosterService.of(self.api)
        people: dict[int, None] = {}
        named: list[str] = []
        for responder in missing.responders:
            if responder.person is not None:
                people[responder.person.id] = None
                named.append(responder.person.name)
                continue
            members = await roster.team(responder.team or "")
            people.update(dict.fromkeys(m.person.id for m in members))
            who = ", ".join(m.person.name for m in members) or "nobody on its roster"
            named.append(f"{responder.team} ({who})")
        mentions = await self.api.people.mentions(people)
        spans = [
            bold("Reminder: "),
            text(
                f"deploy {missing.deploy} expects you on duty: {'; '.join(named)} — "
                f"{self.api.config.prefix}checkin <team> when you are reachable"
            ),
        ]
        return Reply.of(addressed((mentions[p] for p in people), spans))

    async def on_deploy_started(self, deploy: object) -> None:
        """Show which expected responders of a planned deploy are on duty, which not yet."""
        if not isinstance(deploy, DeployView):
            return
        self._quiet_until = None
        plans = PlanService.of(self.api)
        plan = await plans.of_deploy(deploy.id)
        if plan is None or not plan.responders:
            return
        responders = await plans.responders(plan.id)
        on, off = checked_in(responders, await RosterService.of(self.api).on_duty())
        tz = self.api.config.tz
        later = deploy.started_at + timedelta(minutes=self.settings.responders_remind_after)
        lines = [
            f"Expected on duty for deploy {deploy.name} — checked in: "
            f"{', '.join(on) or 'nobody yet'}; not yet: {', '.join(off) or 'nobody'}"
        ]
        if off:
            lines.append(
                f"I remind those not on duty at {ClockTimes(tz, deploy.started_at)(later)}; "
                f"{self.api.config.prefix}checkin <team> to go on duty"
            )
        await self.api.announce(Reply.of(*lines))

    # --- the command line -----------------------------------------------------------------

    async def _announce_offline(self, plan: PlanView, now: datetime) -> str:
        """A change made here goes to chat through the running bot at once (bot.relay);
        when none serves chat, the bot announces it at its next look at the database."""
        plans = PlanService.of(self.api)
        kind = await plans.take_pending(plan.id)
        if kind is None:
            return "chat never heard of it, so nothing is announced there"
        reached = await self.api.announce(await self.render(Notice(kind, plan), now))
        if reached:
            return f"announced in chat on {', '.join(sorted(reached))}"
        await plans.leave_pending(plan.id, kind)
        return "no bot is serving chat now; it announces this when it next runs"

    @cli_command(
        "plan",
        help="plan, list, move or cancel deploys; the calendar feed",
        configure=configure_cli,
    )
    async def plan_cli(self, args: argparse.Namespace) -> int:
        now = self.api.clock.now()
        plans = PlanService.of(self.api)
        try:
            if args.action == "ics":
                wrote = await self.calendar.write(args.output, now)
                if wrote:
                    print(wrote)
                return 0
            if args.action == "list":
                for line in listing(await plans.upcoming(), now, self.api.config.tz, CLI):
                    print(line)
                return 0
            if args.action == "add":
                user = getpass.getuser()
                by = await self.api.people.identify("console", Sender(user, user, True))
                when = self._when_all(args.when, now)
                plan = await self.plan(
                    by,
                    args.name,
                    when,
                    args.service,
                    args.env,
                    args.api_break,
                    args.description,
                    now,
                    offline=True,
                )
                notice = Notice("planned", plan)
            elif args.action == "move":
                when = self._when_all(args.when, now)
                notice = Notice(
                    "moved", await plans.move(check_deploy_name(args.name), when, now, offline=True)
                )
            else:
                notice = Notice(
                    "cancelled",
                    await plans.cancel(check_deploy_name(args.name), now, offline=True),
                )
            for line in (await self.render(notice, now, CLI)).plain.splitlines():
                print(line)
            mailed = await self.mail(notice, now)
            if mailed:
                print(mailed.line)
            print(await self._announce_offline(notice.plan, now))
        except UserError as exc:
            print(f"deployday plan: {exc}", file=sys.stderr)
            return 1
        return 0
