"""A scripted deploy day with known times, shared by the digest and export tests.

Times (minutes after 09:00 Prague, 08:00 UTC) and the figures they give:
- #1 pkgdb (production): reported 10, bob takes 12 (TTA 2m), fixed 30, reopened 45,
  fixed 50 (TTR 40m, the fix that stands); bob is on duty for infra from 2 to the end;
- #2 koji (sev2, staging): reported 15, carol takes 20 (TTA 5m), fixed 58 (TTR 43m);
  carol is on duty for releng from 3 to 60;
- #3 docs: reported 25, nobody responds; still open at the end (age 1h 35m);
- #4 bodhi (sev1): reported 70, acknowledged 79 (TTA 9m); still open (age 50m);
- the deploy ends at 120.
MTTA over [2m, 5m, 9m]: mean 5m 20s, median 5m, p90 8m 12s.
MTTR over [40m, 43m]: mean 41m 30s, median 41m 30s, p90 42m 42s.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.clock import FakeClock
from bot.devtools.harness import Harness, Said

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
NETWORK, ROOM = "libera", "#fedora-admin"

SCRIPT: list[tuple[int, str, str]] = [
    (0, "alice", "!deploy start pkgdb2 --api-break new packages API"),
    (1, "alice", "!roster add bob infra"),
    (1, "alice", "!roster add carol releng"),
    (2, "bob", "!checkin"),
    (3, "carol", "!checkin"),
    (3, "alice", "!lead alice"),
    (10, "dave", "!break pkgdb --env production API returns 500 | on /packages"),
    (12, "bob", "!take 1"),
    (15, "dave", "!break koji --sev 2 --env staging builds stuck"),
    (20, "carol", "!take 2"),
    (25, "dave", "!break docs links point at v1"),
    (30, "bob", "!fixed 1 added the index"),
    (31, "bob", "!followup 1 add a CI check for missing indexes"),
    (45, "dave", "!reopen 1 still 500 on page 2"),
    (50, "bob", "!fixed 1 pagination fixed"),
    (56, "carol", "!followup 2 =alert on queue length"),
    (58, "carol", "!fixed 2 requeued"),
    (60, "carol", "!checkout"),
    (70, "erin", "!break bodhi --sev 1 updates time out"),
    (79, "alice", "!ack 4"),
    (90, "dave", "!note 3 docs team notified"),
]
END = 120


def t(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


async def start(db: Path, **config: object) -> Harness:
    return await Harness.start(
        db,
        clock=FakeClock(T0),
        admins=["alice@libera"],
        timezone="Europe/Prague",
        networks={NETWORK: (ROOM,)},
        **config,
    )


async def play(bot: Harness, *, end: bool = True) -> Said | None:
    """The day; returns what `!deploy end` caused (when `end`)."""
    for minute, who, line in SCRIPT:
        said = await bot.say(who, line, at=t(minute), network=NETWORK, room=ROOM)
        assert not said.text.startswith(f"{who}:"), f"{line!r} was refused: {said.text}"
    if end:
        return await bot.say("alice", "!deploy end", at=t(END), network=NETWORK, room=ROOM)
    return None
