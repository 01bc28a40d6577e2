"""How a digest reads in chat (the two lines posted with it), and how its timeline
entries read wherever they are shown."""

from __future__ import annotations

from plugins.common.chat import duration, plural
from plugins.digest.figures import Digest
from plugins.digest.timeline import Beside, Happening, TimelineEntry
from plugins.incidents.views import describe_event
from plugins.metrics.stats import Stats


def chat_summary(d: Digest) -> list[str]:
    """Two lines for the channel; the file has the rest."""
    s = d.summary
    first = (
        f"Digest for deploy {d.deploy.name}: {plural(s.total, 'incident')}, "
        f"{len(d.still_open)} still open; {_figures('MTTA', s.tta)}; {_figures('MTTR', s.ttr)}"
    )
    parts = []
    if d.services:
        top = ", ".join(f"{x.service} ({x.incidents})" for x in d.services[:3])
        parts.append(f"most affected: {top}")
    if d.unknown_consumers:
        parts.append(plural(len(d.unknown_consumers), "unknown consumer"))
    if d.staging_mixups:
        parts.append(plural(len(d.staging_mixups), "staging mix-up"))
    parts.append(plural(len(d.followups), "follow-up"))
    parts.append(f"{plural(len(d.helpers), 'person', 'people')} helped")
    return [first, "; ".join(parts)]


def _figures(label: str, s: Stats) -> str:
    if s.count == 0:
        return f"{label} —"
    return f"{label} {duration(s.mean)} (median {duration(s.median)}, p90 {duration(s.p90)})"


def timeline_text(d: Digest, e: TimelineEntry) -> str:
    about = f"#{e.number} {e.service}: " if e.number is not None else ""
    if e.event is not None:
        return about + describe_event(e.event)
    if e.happening is not None:
        return about + _happening(e.happening)
    verb = "started" if e.at == d.deploy.started_at else "ended"
    by = f" by {d.deploy.started_by}" if verb == "started" else ""
    return f"deploy {d.deploy.name} {verb}{by}"


# what each reminder said, in short (plugins.reminders posts them)
_REMINDED = {
    "unowned": "reminder posted: nobody owns it",
    "idle": "reminder posted: acknowledged but nobody owns it",
    "stale": "reminder to its owner: no update",
    "nobody": "reminders held back: nobody on duty",
}


def _happening(h: Happening) -> str:
    match h.kind:
        case Beside.PAGE:
            return f"{h.who} paged {h.detail}"
        case Beside.CHECKIN:
            return f"{h.who} checked in for {h.detail}"
        case Beside.CHECKOUT:
            return f"{h.who} checked out ({h.detail})"
    return _REMINDED.get(h.detail or "", f"reminder posted ({h.detail})")
