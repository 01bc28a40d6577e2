"""MTTA / MTTR arithmetic with exact figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from plugins.incidents.lifecycle import Status
from plugins.metrics.stats import Timeline, quantile, stats, summarize

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def at(n: float) -> datetime:
    return T0 + minutes(n)


def test_quantile_interpolates_between_ranks() -> None:
    values = [1.0, 2.0, 3.0, 4.0, 10.0]
    assert quantile(values, 0.5) == 3.0
    assert quantile(values, 0.9) == pytest.approx(7.6)  # 4 + (10 - 4) * 0.6
    assert quantile([5.0], 0.9) == 5.0
    with pytest.raises(ValueError):
        quantile([], 0.5)


def test_stats_of_durations() -> None:
    s = stats([minutes(4), minutes(2), minutes(10), minutes(1), minutes(3)])
    assert (s.count, s.mean, s.median, s.p90) == (5, minutes(4), minutes(3), minutes(7.6))
    assert stats([]).count == 0 and stats([]).mean is None


def test_time_to_repair_counts_the_fix_that_stands() -> None:
    reopened_then_fixed = Timeline(1, "pkgdb", Status.FIXED, at(0), at(2), at(50))
    reopened_and_open = Timeline(2, "pkgdb", Status.ACKNOWLEDGED, at(0), at(5), at(20))
    assert reopened_then_fixed.ttr == minutes(50)
    assert reopened_and_open.ttr is None
    assert reopened_and_open.tta == minutes(5)
    assert Timeline(3, "x", Status.WONTFIX, at(0), at(1), None).ttr is None


def test_summary_counts_and_oldest_open() -> None:
    timelines = [
        Timeline(1, "pkgdb", Status.FIXED, at(0), at(4), at(30)),
        Timeline(2, "fas", Status.FIXED, at(10), at(12), at(20)),
        Timeline(3, "koji", Status.OPEN, at(15), None, None),
        Timeline(4, "bodhi", Status.ACKNOWLEDGED, at(5), at(6), None, owner="bob"),
        Timeline(5, "docs", Status.WONTFIX, at(20), at(21), None),
    ]
    s = summarize(timelines)
    assert s.total == 5 and s.open == 2
    assert s.by_status == {
        Status.FIXED: 2,
        Status.OPEN: 1,
        Status.ACKNOWLEDGED: 1,
        Status.WONTFIX: 1,
    }
    assert (s.tta.count, s.tta.mean, s.tta.median) == (4, minutes(2), minutes(1.5))
    assert (s.ttr.count, s.ttr.mean, s.ttr.median, s.ttr.p90) == (
        2,
        minutes(20),
        minutes(20),
        minutes(28),
    )
    assert s.oldest_open is not None and s.oldest_open.number == 4
