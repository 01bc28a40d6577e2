"""The `plans:` config section: when to remind before a planned deploy, whom to mail,
when to remind expected responders who are not on duty, and how the calendar feed reads."""

from __future__ import annotations

import os
import re
from datetime import timedelta

from pydantic import Field, field_validator

from bot.commands import UserError
from bot.config import PluginSettings, StrictModel
from bot.config.base import env_name
from plugins.common.checks import check_environment, config_addresses
from plugins.common.when import span
from plugins.plans.service import PlanView

_DOMAIN = re.compile(r"^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9-]{1,63})*$")


def _span_within(value: str, longest: timedelta, example: str) -> str:
    delta = span(value)
    if delta is None or not timedelta(0) < delta <= longest:
        raise ValueError(f"expected a length of time like {example} (at most {longest.days}d)")
    return value


def _checked(value: str) -> timedelta:
    delta = span(value)
    assert delta is not None, "validated when the config was read"
    return delta


class CalendarSettings(StrictModel):
    """`plans.calendar`: the iCalendar feed (`deployday plan ics`, GET /calendar.ics)."""

    name: str = Field("Planned deploys", min_length=1, max_length=100)  # X-WR-CALNAME
    # UIDs are plan-<id>@<domain>; unset: derived from the bot's first network identity
    domain: str | None = None
    duration: str = "2h"  # plans have a start only; events last this long
    keep: str = "30d"  # how long cancelled and past plans stay in the feed
    token_env: str = "DEPLOYDAY_CALENDAR_TOKEN"  # ?token= on GET /calendar.ics

    _check_env = field_validator("token_env")(env_name)

    @field_validator("domain")
    @classmethod
    def _domain(cls, v: str | None) -> str | None:
        if v is not None and not _DOMAIN.match(v):
            raise ValueError(f"expected a lowercase domain like deployday.example.org, got {v!r}")
        return v

    @field_validator("duration")
    @classmethod
    def _duration(cls, v: str) -> str:
        return _span_within(v, timedelta(days=7), "2h or 90m")

    @field_validator("keep")
    @classmethod
    def _keep(cls, v: str) -> str:
        return _span_within(v, timedelta(days=366), "30d")

    @property
    def length(self) -> timedelta:
        return _checked(self.duration)

    @property
    def kept(self) -> timedelta:
        return _checked(self.keep)

    @property
    def token(self) -> str | None:
        return os.environ.get(self.token_env) or None


class PlanSettings(PluginSettings):
    remind_before: tuple[str, ...] = ("7d", "1d", "1h")
    check_every: int = Field(1, ge=1, le=60)
    environment: str = "production"
    mail_to: tuple[str, ...] = ()
    api_break_mail_to: tuple[str, ...] = ()
    mail_reminders: bool = True
    responders_remind_after: int = Field(10, ge=1, le=1440)
    calendar: CalendarSettings = Field(default_factory=CalendarSettings)

    @field_validator("remind_before")
    @classmethod
    def _spans(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for item in v:
            delta = span(item)
            if delta is None or not timedelta(0) < delta <= timedelta(days=90):
                raise ValueError(
                    f"expected times before the deploy like 7d, 1h or 30m, got {item!r}"
                )
        if len({span(item) for item in v}) != len(v):
            raise ValueError("the same time before the deploy is listed twice")
        return v

    @field_validator("environment")
    @classmethod
    def _environment(cls, v: str) -> str:
        try:
            return check_environment(v)
        except UserError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("mail_to", "api_break_mail_to")
    @classmethod
    def _addresses(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return config_addresses(v)

    def mail_needed(self) -> tuple[str, ...]:
        return tuple(k for k in ("mail_to", "api_break_mail_to") if getattr(self, k))

    @property
    def reminders(self) -> list[timedelta]:
        """The T-minus times, longest first."""
        return sorted((d for d in map(span, self.remind_before) if d), reverse=True)

    def recipients(self, plan: PlanView) -> tuple[str, ...]:
        """Every plan goes to `mail_to`; an API break also to `api_break_mail_to`."""
        extra = self.api_break_mail_to if plan.api_break else ()
        return tuple(dict.fromkeys((*self.mail_to, *extra)))
