"""How MTTA / MTTR summaries read in chat (`!mttr`, `!deploy end`, scheduled summaries)."""

from __future__ import annotations

from datetime import datetime

from bot.messages import Reply, bold, text
from plugins.common.chat import duration
from plugins.incidents.lifecycle import Status
from plugins.metrics.stats import Stats, Summary


def _stats_line(label: str, s: Stats) -> str:
    if s.count == 0:
        return f"{label}: none yet"
    return (
        f"{label}: n={s.count}, mean {duration(s.mean)}, median {duration(s.median)}, "
        f"p90 {duration(s.p90)}"
    )


def render_summary(label: str, summary: Summary, now: datetime, prefix: str) -> Reply:
    dups = summary.duplicates
    apart = f"; {dups} duplicate{'s' if dups != 1 else ''} not counted" if dups else ""
    if summary.total == 0:
        return Reply.of(f"MTTR for {label}: no incidents{apart}")
    counts = ", ".join(
        f"{summary.by_status[s]} {s.label}" for s in Status if summary.by_status.get(s)
    )
    plural = "s" if summary.total != 1 else ""
    lines = [
        [bold(f"MTTR for {label}: "), text(f"{summary.total} incident{plural} — {counts}{apart}")],
        _stats_line("time to acknowledge", summary.tta),
        _stats_line("time to repair", summary.ttr),
    ]
    oldest = summary.oldest_open
    if oldest is not None:
        owner = f"owned by {oldest.owner}" if oldest.owner else "unowned"
        lines.append(
            f"open: {summary.open}; oldest #{oldest.number} {oldest.service}, "
            f"{duration(now - oldest.reported_at)} old, {owner}"
        )
    return Reply.of(*lines)
