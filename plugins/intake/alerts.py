"""Prometheus Alertmanager's webhook (version 4) read into what an incident needs: which
service, how severe, what broke, since when. Pure, so every rule is unit-tested; the
whole webhook is read before anything is written, so a bad alert refuses all of it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from bot.commands import UserError
from bot.text import clean
from plugins.common.checks import check_service
from plugins.intake.settings import IntakeSettings

# alert times further from the bot's clock than this are not believed; the time the
# webhook arrived stands in for them (Alertmanager's "no end yet" is year 1)
TRUST_PAST = timedelta(hours=24)
TRUST_FUTURE = timedelta(minutes=5)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class _Lenient(BaseModel):
    """Alertmanager adds fields over time; ones this does not know are ignored."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


class Alert(_Lenient):
    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: AwareDatetime = Field(alias="startsAt")
    ends_at: AwareDatetime | None = Field(None, alias="endsAt")
    fingerprint: str = Field(min_length=1, max_length=64)


class Webhook(_Lenient):
    version: Literal["4"]
    receiver: str = ""
    alerts: list[Alert]


class Refused(Exception):
    """The webhook cannot be taken as it is: `status` and one line saying why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class Signal:
    """One alert, read: what the incident work needs of it."""

    fingerprint: str
    firing: bool
    name: str  # the alertname label, or the fingerprint
    service: str
    severity: int
    summary: str
    episode: datetime  # startsAt as sent: one firing of the alert, until it resolves
    starts_at: datetime  # believable, else when the webhook arrived
    ends_at: datetime | None  # believable, for resolved alerts


def parse(body: object) -> Webhook:
    """The webhook's shape, or Refused(422) naming the first field that is wrong."""
    try:
        return Webhook.model_validate(body)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in error["loc"]) or "body"
        raise Refused(
            422, f"not an Alertmanager webhook (version 4): {where}: {error['msg']}"
        ) from None


def read(
    webhook: Webhook,
    settings: IntakeSettings,
    default_severity: int,
    max_summary: int,
    now: datetime,
) -> list[Signal]:
    """Every alert read, or Refused(422) for the first one the label mapping cannot place."""
    return [
        _signal(n, alert, settings, default_severity, max_summary, now)
        for n, alert in enumerate(webhook.alerts)
    ]


def _signal(
    n: int,
    alert: Alert,
    settings: IntakeSettings,
    default_severity: int,
    max_summary: int,
    now: datetime,
) -> Signal:
    name = alert.labels.get("alertname") or alert.fingerprint
    which = f"alert {n} ({clean(name)[:60]})"
    service = alert.labels.get(settings.service_label)
    if not service:
        raise Refused(
            422, f"{which} has no {settings.service_label!r} label (intake.service_label)"
        )
    try:
        service = check_service(service)
    except UserError as exc:
        raise Refused(422, f"{which}: label {settings.service_label}: {exc}") from None
    episode = utc(alert.starts_at)
    starts_at = believable(episode, now) or now
    ends_at = None
    if alert.status == "resolved" and alert.ends_at is not None:
        ends_at = believable(utc(alert.ends_at), now)
    return Signal(
        alert.fingerprint,
        alert.status == "firing",
        clean(name)[:100],
        service,
        severity_of(alert, settings, default_severity, which),
        summary_of(alert, name, max_summary),
        episode,
        starts_at,
        max(ends_at, starts_at) if ends_at else None,
    )


def severity_of(alert: Alert, settings: IntakeSettings, default: int, which: str) -> int:
    """From the severity label through `severity_map`; an alert without the label gets
    the incidents' default, one whose value the map lacks is refused."""
    value = alert.labels.get(settings.severity_label)
    if value is None:
        return default
    severity = settings.severity_map.get(value.lower())
    if severity is None:
        known = ", ".join(sorted(settings.severity_map)) or "none"
        raise Refused(
            422,
            f"{which}: {settings.severity_label}={clean(value)[:40]!r} is not in "
            f"intake.severity_map (known: {known})",
        )
    return severity


def summary_of(alert: Alert, name: str, limit: int) -> str:
    """ "Alertname: summary" from the annotations (summary, else description), on one
    line and cut to the incidents' summary limit."""
    said = alert.annotations.get("summary") or alert.annotations.get("description") or ""
    said = " ".join(clean(said).split())
    name = " ".join(clean(name).split())
    text = f"{name}: {said}" if said and not said.lower().startswith(name.lower()) else said or name
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def utc(at: datetime) -> datetime:
    """In UTC; a time so early that UTC would be before year 1 counts as the epoch."""
    try:
        return at.astimezone(UTC)
    except OverflowError:
        return EPOCH


def believable(at: datetime | None, now: datetime) -> datetime | None:
    if at is None or not now - TRUST_PAST <= at <= now + TRUST_FUTURE:
        return None
    return min(at, now)
