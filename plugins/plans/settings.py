"""The `plans:` config section: when to remind before a planned deploy, whom to mail,
and when to remind expected responders who are not on duty."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, field_validator

from bot.commands import UserError
from bot.config import PluginSettings
from plugins.common.checks import check_environment, config_addresses
from plugins.common.when import span
from plugins.plans.service import PlanView


class PlanSettings(PluginSettings):
    remind_before: tuple[str, ...] = ("7d", "1d", "1h")
    check_every: int = Field(1, ge=1, le=60)
    environment: str = "production"
    mail_to: tuple[str, ...] = ()
    api_break_mail_to: tuple[str, ...] = ()
    mail_reminders: bool = True
    responders_remind_after: int = Field(10, ge=1, le=1440)

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
