"""What the dispatcher did with each command, as plain counters and a latency histogram per
command: enough for any exporter (the intake serves them to Prometheus) without the core
knowing one."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from enum import StrEnum

# upper bounds in seconds; a command slower than the last lands in the +Inf bucket
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
UNKNOWN = "(unknown)"  # the command name of text that named no command


class Outcome(StrEnum):
    OK = "ok"  # answered (or nothing to answer)
    REFUSED = "refused"  # a usage or user error: the person was told what to fix
    DENIED = "denied"  # not allowed at their level
    ERROR = "error"  # an internal error, logged with a ref
    UNKNOWN = "unknown"  # no such command
    THROTTLED = "throttled"  # over the per-person rate limit


@dataclass(slots=True)
class Histogram:
    counts: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS) + 1))
    total: float = 0.0  # seconds

    def observe(self, seconds: float) -> None:
        self.counts[bisect.bisect_left(BUCKETS, seconds)] += 1
        self.total += seconds

    @property
    def count(self) -> int:
        return sum(self.counts)

    def cumulative(self) -> list[tuple[float, int]]:
        """(upper bound, observations at or below it), ending with +Inf."""
        running, out = 0, []
        for bound, n in zip((*BUCKETS, float("inf")), self.counts, strict=True):
            running += n
            out.append((bound, running))
        return out


class CommandStats:
    def __init__(self) -> None:
        self.outcomes: dict[tuple[str, Outcome], int] = {}
        self.durations: dict[str, Histogram] = {}

    def record(self, command: str, outcome: Outcome, seconds: float) -> None:
        key = (command, outcome)
        self.outcomes[key] = self.outcomes.get(key, 0) + 1
        self.durations.setdefault(command, Histogram()).observe(seconds)
