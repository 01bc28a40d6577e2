"""The pure rules behind the intake: an Alertmanager webhook read into signals (labels to
service and severity, summary, believable times), the storm line's ranges, and the
command latency histogram the core keeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.command_stats import BUCKETS, CommandStats, Outcome
from plugins.intake import alerts
from plugins.intake.settings import IntakeSettings
from plugins.intake.views import ranges

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
SETTINGS = IntakeSettings()


def hook(**alert: Any) -> dict[str, Any]:
    base = {
        "status": "firing",
        "labels": {"alertname": "DiskFull", "service": "koji", "severity": "warning"},
        "annotations": {"description": "disk\nat 99%"},
        "startsAt": "2026-11-25T08:55:00.123456789Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "fingerprint": "c0ffee",
        "extraField": "ignored",
    }
    return {"version": "4", "receiver": "ops", "alerts": [{**base, **alert}]}


def read(body: dict[str, Any], limit: int = 300) -> alerts.Signal:
    [signal] = alerts.read(alerts.parse(body), SETTINGS, 3, limit, NOW)
    return signal


def test_an_alert_becomes_a_signal() -> None:
    s = read(hook())
    assert (s.fingerprint, s.firing, s.name, s.service, s.severity) == (
        "c0ffee",
        True,
        "DiskFull",
        "koji",
        3,
    )
    assert s.summary == "DiskFull: disk at 99%"  # description when there is no summary
    assert s.starts_at == datetime(2026, 11, 25, 8, 55, 0, 123456, tzinfo=UTC)
    assert s.ends_at is None  # firing: Alertmanager's "no end" of year 1 is no end


def test_labels_map_through_the_config() -> None:
    assert read(hook(labels={"service": "KOJI", "severity": "Critical"})).severity == 1
    assert read(hook(labels={"service": "koji"})).severity == 3  # no label: the default
    with pytest.raises(alerts.Refused, match=r"alert 0 \(c0ffee\).*severity='sev0'"):
        read(hook(labels={"service": "koji", "severity": "sev0"}))
    with pytest.raises(alerts.Refused, match=r"no 'service' label"):
        read(hook(labels={"alertname": "X"}))
    with pytest.raises(alerts.Refused, match=r"label service: a service name is"):
        read(hook(labels={"service": "no spaces"}))


def test_summaries_are_one_line_and_fit() -> None:
    said = read(hook(annotations={"summary": "DiskFull on /var\r\nsecond line"}))
    assert said.summary == "DiskFull on /var second line"  # the name is not repeated
    long = read(hook(annotations={"summary": "x" * 500}), limit=40)
    assert long.summary == "DiskFull: " + "x" * 29 + "…" and len(long.summary) == 40
    assert read(hook(annotations={})).summary == "DiskFull"


def test_only_believable_times_are_taken() -> None:
    assert read(hook(startsAt="2026-11-23T09:00:00Z")).starts_at == NOW  # two days old
    assert read(hook(startsAt="2026-11-25T09:03:00Z")).starts_at == NOW  # skew: now
    assert read(hook(startsAt="2026-11-25T10:00:00Z")).starts_at == NOW  # future: now
    resolved = read(hook(status="resolved", endsAt="2026-11-25T08:59:00+01:00"))
    assert resolved.ends_at == resolved.starts_at  # an end before the start is the start
    assert read(hook(status="resolved", endsAt="2026-11-25T08:58:00Z")).ends_at == (
        NOW - timedelta(minutes=2)
    )
    early = read(hook(startsAt="0001-01-01T00:00:00+01:00"))
    assert (early.episode, early.starts_at) == (alerts.EPOCH, NOW)


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"version": "4", "alerts": [{"status": "firing"}]}, "alerts.0.labels"),
        ({"version": "4"}, "alerts"),
        (hook(status="pending"), "alerts.0.status"),
        (hook(startsAt="2026-11-25T08:55:00"), "alerts.0.startsAt"),  # no zone
        (hook(fingerprint=""), "alerts.0.fingerprint"),
    ],
)
def test_a_malformed_webhook_names_the_field(body: dict[str, Any], where: str) -> None:
    with pytest.raises(alerts.Refused) as refused:
        alerts.parse(body)
    assert refused.value.status == 422
    assert f"not an Alertmanager webhook (version 4): {where}: " in str(refused.value)


def test_ranges_of_incident_numbers() -> None:
    assert ranges([3, 1, 2, 7, 9, 10]) == "#1-#3, #7, #9-#10"
    assert ranges(list(range(1, 40, 2))) == "#1, #3, #5, #7, #9, #11, #13, #15, …"


def test_command_latencies_land_in_cumulative_buckets() -> None:
    stats = CommandStats()
    for seconds in (0.0004, 0.001, 0.003, 0.2, 30.0):
        stats.record("break", Outcome.OK, seconds)
    stats.record("break", Outcome.REFUSED, 0.002)
    assert stats.outcomes == {("break", Outcome.OK): 5, ("break", Outcome.REFUSED): 1}
    cumulative = dict(stats.durations["break"].cumulative())
    assert (cumulative[0.001], cumulative[0.0025], cumulative[0.005]) == (2, 3, 4)
    assert (cumulative[BUCKETS[-1]], cumulative[float("inf")]) == (5, 6)
    assert stats.durations["break"].total == pytest.approx(30.2064)
