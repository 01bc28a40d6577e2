"""How change-failure figures read: chat lines (`!stats`), the digest's Markdown section
and the export's JSON section. One wording for all three."""

from __future__ import annotations

from datetime import timedelta, tzinfo
from typing import Any

from bot.messages import Reply, bold, text
from plugins.common.chat import duration, plural
from plugins.common.files import iso, md_cell, seconds
from plugins.common.when import span_label
from plugins.metrics.changes import OVERALL, ChangeReport, Figures
from plugins.metrics.stats import Stats

SHOWN_SERVICES = 5  # services listed in chat; `!stats <service>` shows any one
SHOWN_NUMBERS = 8  # incident numbers listed on one chat line


def window_label(window: timedelta) -> str:
    """The failure window as configured: 24h rather than 1d."""
    hours, rest = divmod(window, timedelta(hours=1))
    return f"{hours}h" if not rest else span_label(window)


def _rate(f: Figures) -> str:
    return "—" if f.rate is None else f"{f.rate:.0%}"


def _numbers(numbers: tuple[int, ...]) -> str:
    shown = ", ".join(f"#{n}" for n in numbers[:SHOWN_NUMBERS])
    rest = len(numbers) - SHOWN_NUMBERS
    return f"{shown} and {rest} more" if rest > 0 else shown


def _failures(f: Figures) -> str:
    if not f.failed:
        return "none failed"
    said = f"{f.failed} failed ({_rate(f)}): {_numbers(f.incidents)}"
    if f.restore.count:
        said += (
            f"; time to restore median {duration(f.restore.median)}, "
            f"mean {duration(f.restore.mean)}"
        )
    return said + (f"; {f.unrestored} not restored" if f.unrestored else "")


def _often(value: float) -> str:
    """Two significant figures, whole numbers from 10 up: 0.33, 2.3, 12, 150."""
    return f"{value:.0f}" if value >= 10 else f"{value:.2g}"


def _line(report: ChangeReport, f: Figures) -> str:
    often = f"{_often(report.per_day(f))} a day, {_often(report.per_week(f))} a week"
    return f"{f.label}: {plural(f.changes, 'deployment')} ({often}); {_failures(f)}"


def render_stats(report: ChangeReport, label: str, service: str | None, prefix: str) -> Reply:
    """`!stats`: a heading, the overall line, then the busiest services."""
    window = window_label(report.window)
    head = [bold(f"Change failure, {label}: ")]
    chosen = report.overall if service is None else report.service(service)
    if chosen is None or not chosen.changes:
        what = f"deployments of {service}" if service else "deployments"
        return Reply.of([*head, text(f"no {what} recorded")])
    lines: list[Any] = [
        [*head, text(f"a deployment failed if an incident of its service came within {window}")]
    ]
    if service is not None:
        return Reply.of(*lines, _line(report, chosen))
    lines.append(_line(report, report.overall))
    if report.unnamed:
        lines.append(f"({plural(report.unnamed, 'deploy day')} without a service counted in all)")
    lines += [_line(report, f) for f in report.services[:SHOWN_SERVICES]]
    hidden = len(report.services) - SHOWN_SERVICES
    if hidden > 0:
        lines.append(f"… and {plural(hidden, 'more service')}: {prefix}stats <service>")
    return Reply.of(*lines)


def change_section(report: ChangeReport | None, tz: tzinfo) -> list[str]:
    """The digest's "Change failure" section (nothing without a report)."""
    if report is None:
        return []
    lines = [
        "## Change failure",
        "",
        f"Deployments from {report.since.astimezone(tz):%Y-%m-%d %H:%M} to "
        f"{report.until.astimezone(tz):%Y-%m-%d %H:%M}; one failed when an incident of its "
        f"service was reported within {window_label(report.window)} of it.",
        "",
        "| service | deployments | failed | rate | incidents | restore median | restore mean |",
        "|---|---|---|---|---|---|---|",
    ]
    if report.unnamed:
        lines[4:4] = [
            f"Deploy days that recorded no deployment and named no service ({report.unnamed} "
            "here) count as one deployment each, in `all` only.",
            "",
        ]
    for f in [report.overall, *report.services]:
        cells = (
            f.label,
            f.changes,
            f.failed,
            _rate(f),
            " ".join(f"#{n}" for n in f.incidents) or "—",
            duration(f.restore.median),
            duration(f.restore.mean),
        )
        lines.append("| " + " | ".join(md_cell(c) for c in cells) + " |")
    return [*lines, ""]


def _stats_json(s: Stats) -> dict[str, Any]:
    return {
        "count": s.count,
        "median_seconds": seconds(s.median),
        "mean_seconds": seconds(s.mean),
    }


def _figures_json(report: ChangeReport, f: Figures) -> dict[str, Any]:
    return {
        "service": None if f.label == OVERALL else f.label,
        "deployments": f.changes,
        "per_day": round(report.per_day(f), 3),
        "per_week": round(report.per_week(f), 3),
        "failed": f.failed,
        "failure_rate": None if f.rate is None else round(f.rate, 4),
        "incidents": list(f.incidents),
        "time_to_restore": _stats_json(f.restore),
        "unrestored": f.unrestored,
    }


def change_json(report: ChangeReport) -> dict[str, Any]:
    """The export's `change_failure` section (README, "Change-failure figures")."""
    return {
        "since": iso(report.since),
        "until": iso(report.until),
        "window_seconds": seconds(report.window),
        "days": round(report.days, 3),
        "overall": _figures_json(report, report.overall),
        "deploy_days_without_service": report.unnamed,
        "services": [_figures_json(report, f) for f in report.services],
    }
