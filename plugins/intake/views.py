"""How alerts read in chat: each change announced like any report, or, when one webhook
brings more than `announce_limit` of them, one line that sums them up so a storm of
alerts never buries the channel (or the bot's own answers behind flood control)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from bot.messages import Reply, bold, text
from plugins.common.chat import plural
from plugins.incidents.views import detail_spans, fixed, number, reported
from plugins.intake.alerting import ACTOR, Kind, Outcome

SHOWN = (Kind.OPENED, Kind.AGAIN, Kind.FIXED, Kind.RESOLVED, Kind.OUTSIDE)
MAX_RANGES = 8
LABELS = (
    (Kind.AGAIN, "firing again"),
    (Kind.FIXED, "fixed"),
    (Kind.RESOLVED, "resolved"),
    (Kind.OUTSIDE, "outside a deploy"),
)


def announcements(
    outcomes: Sequence[Outcome], limit: int, now: datetime, prefix: str
) -> list[Reply]:
    shown = [o for o in outcomes if o.kind in SHOWN]
    if len(shown) > limit:
        return [storm(shown, prefix)]
    return [one(o, now, prefix) for o in shown]


def one(o: Outcome, now: datetime, prefix: str) -> Reply:
    s, n = o.signal, o.number
    if o.kind is Kind.OPENED and o.incident is not None:
        return reported(o.incident)
    if o.kind is Kind.FIXED and o.incident is not None:
        return fixed(o.incident, ACTOR, s.ends_at or now, f"resolved by {ACTOR}")
    if o.kind is Kind.AGAIN and n is not None:
        return Reply.of(
            [number(n), text(f" {s.service}: alert {s.name} is firing again ({ACTOR})")]
        )
    if o.kind is Kind.RESOLVED and n is not None:
        hint = f"; still open — {prefix}fixed {n} when it is" if o.still_open else ""
        return Reply.of([number(n), text(f" {s.service}: alert {s.name} resolved ({ACTOR}){hint}")])
    state = "firing" if s.firing else "resolved"
    return Reply.of(
        [
            text(f"alert {state} with no deploy under way (no incident): "),
            *detail_spans(s.service, s.severity, s.summary),
            text(f" ({ACTOR})"),
        ]
    )


def storm(shown: Sequence[Outcome], prefix: str) -> Reply:
    """One line for many: how many of each, the incidents' numbers, the services hit."""
    counts = Counter(o.kind for o in shown)
    opened = [o.number for o in shown if o.kind is Kind.OPENED and o.number is not None]
    services = Counter(o.signal.service for o in shown).most_common(3)
    parts = [f"{plural(len(opened), 'incident')} opened ({ranges(opened)})"] if opened else []
    parts += [f"{counts[kind]} {label}" for kind, label in LABELS if counts[kind]]
    hit = ", ".join(f"{service} {n}" for service, n in services)
    return Reply.of(
        [
            bold("Alert storm: "),
            text(
                f"{plural(len(shown), 'alert')} from {ACTOR} — {'; '.join(parts)}; most hit: "
                f"{hit}; {prefix}incidents lists the open ones"
            ),
        ]
    )


def ranges(numbers: Sequence[int]) -> str:
    """#1-#4, #7: consecutive numbers as ranges, the first MAX_RANGES of them."""
    runs: list[list[int]] = []
    for n in sorted(numbers):
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    shown = [f"#{a}" if a == b else f"#{a}-#{b}" for a, b in runs[:MAX_RANGES]]
    return ", ".join(shown) + (", …" if len(runs) > MAX_RANGES else "")
