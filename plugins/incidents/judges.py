"""The hook through which other features flag a new report without incidents knowing
them: a judge reads the report's context inside the reporting transaction and says
what it sees, and the flags are stored with the report. The catalogue adds one when it
starts (is the consumer known? pointed at staging?); with no judges, nothing is flagged."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection


@dataclass(frozen=True, slots=True)
class Flags:
    """What the context of a report says: is its consumer known, pointed at staging?"""

    consumer_known: bool | None  # None: nobody judged it (or no consumer was named)
    staging_mixup: bool

    def merged(self, other: Flags) -> Flags:
        """Both judges' flags: a consumer unknown to either is unknown; a mix-up either
        sees stands."""
        known = [k for k in (self.consumer_known, other.consumer_known) if k is not None]
        return Flags(all(known) if known else None, self.staging_mixup or other.staging_mixup)


NOTHING = Flags(None, False)

# (connection, service, consumer, environment, environment of the deploy under way) -> flags;
# runs on the database thread, inside the reporting unit of work
Judge = Callable[[Connection, str, str | None, str | None, str | None], Flags]
