"""Dates and times people type (planning a deploy, choosing what to export) and the
config sets, read in the configured time zone and returned in UTC; pure functions, so
every rule is unit-tested with exact times."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from bot.commands import UserError
from plugins.common.checks import CLOCK

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SPAN = re.compile(r"^(?:(\d{1,3})d)?(?:(\d{1,3})h)?(?:(\d{1,4})m)?$")
FORMS = "2026-11-25 09:00, 2026-11-25T09:00Z, tomorrow 09:00, 09:00 (today) or +2h"
# Dates outside these are refused in one line: nothing a deploy day needs lies beyond,
# and arithmetic near the ends of the calendar (9999-12-31 plus a day) would overflow.
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)


def _sane(day: date, typed: str, flag: str = "") -> date:
    if not EARLIEST <= day <= LATEST:
        where = f"{flag}: " if flag else ""
        raise UserError(
            f"{where}{typed.strip()[:40]} is outside the dates I handle, {EARLIEST} to {LATEST}"
        )
    return day


def span(text: str) -> timedelta | None:
    """`7d`, `1h`, `30m`, `1d12h`: a length of time, or None if it is not one."""
    m = _SPAN.match(text.strip().lower())
    if not m or not any(m.groups()):
        return None
    days, hours, minutes = (int(g or 0) for g in m.groups())
    return timedelta(days=days, hours=hours, minutes=minutes)


def span_label(delta: timedelta) -> str:
    """The canonical spelling of a span: 7d, 1d12h, 90m becomes 1h30m."""
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 1440)
    hours, minutes = divmod(rest, 60)
    label = (f"{days}d" if days else "") + (f"{hours}h" if hours else "")
    return label + (f"{minutes}m" if minutes else "") or "0m"


def moment(when: datetime, tz: tzinfo) -> str:
    """How a planned time reads everywhere: Wed 2026-11-25 09:00 CET."""
    local = when.astimezone(tz)
    return f"{local:%a %Y-%m-%d %H:%M} {local.tzname()}"


def parse_when(words: list[str], now: datetime, tz: tzinfo) -> tuple[datetime, int]:
    """Read a future time from the first one or two `words`; returns it in UTC and how
    many words it took. Each problem is one UserError line that says what would work."""
    if not words:
        raise UserError(f"say when: {FORMS}")
    first = words[0].lower()
    second = words[1] if len(words) > 1 else None
    if first.startswith("+"):
        delta = span(first[1:])
        if delta is None or delta <= timedelta(0):
            raise _unreadable(words[0])
        return _future(now + delta, now, tz), 1
    if first in ("today", "tomorrow") or _DAY.match(first):
        if second is None or not CLOCK.match(second):
            raise UserError(f"say the time too, like {first} 09:00")
        if first == "today":
            day = now.astimezone(tz).date()
        elif first == "tomorrow":
            day = now.astimezone(tz).date() + timedelta(days=1)
        else:
            day = _sane(_date(first), first)
        return _future(_local(day, clock(second), tz), now, tz), 2
    if CLOCK.match(first):
        when = _local(now.astimezone(tz).date(), clock(first), tz)
        if when <= now:
            raise UserError(
                f"{first} today has passed (it is {now.astimezone(tz):%H:%M %Z} now); "
                f"say tomorrow {first} or a date"
            )
        return when.astimezone(UTC), 1
    try:
        parsed = datetime.fromisoformat(words[0])
    except ValueError:
        raise _unreadable(words[0]) from None
    _sane(parsed.date(), words[0])
    if parsed.tzinfo is None:
        return _future(_local(parsed.date(), parsed.time(), tz), now, tz), 1
    return _future(parsed, now, tz), 1


def _unreadable(word: str) -> UserError:
    return UserError(f"I can't read {word[:40]!r} as a time; say {FORMS}")


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UserError(f"{text} is not a date; dates look like 2026-11-25") from None


def clock(text: str) -> time:
    """An HH:MM already checked against CLOCK, as a time of day."""
    hours, minutes = (int(x) for x in text.split(":"))
    return time(hours, minutes)


def _local(day: date, clock: time, tz: tzinfo) -> datetime:
    """`clock` on `day` in zone `tz`; refuses a time the clocks skip when they change."""
    when = datetime.combine(day, clock, tzinfo=tz)
    if when.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != when.replace(tzinfo=None):
        raise UserError(
            f"{day} {clock:%H:%M} does not exist in {tz} (the clocks change); pick another time"
        )
    return when


def _future(when: datetime, now: datetime, tz: tzinfo) -> datetime:
    if when <= now:
        raise UserError(
            f"{moment(when, tz)} is in the past (it is {moment(now, tz)} now); plan a later time"
        )
    return when.astimezone(UTC)


def start_of_day(now: datetime, tz: tzinfo) -> datetime:
    """Midnight of `now`'s day in zone `tz`: where "today" begins."""
    return datetime.combine(now.astimezone(tz).date(), time(0), tzinfo=tz)


def parse_since(value: str, now: datetime, tz: tzinfo, flag: str = "--since") -> datetime:
    """The start of a period up to now: a span back from `now` (`7d`, `30d`, `12h`) or a
    date or time as `parse_moment` reads them; refused in one line if not in the past."""
    back = span(value)
    if back is None and not value.strip()[:1].isdigit():
        raise UserError(
            f"{flag}: say how far back (7d, 30d, 12h) or from when (a date like "
            f"{now.astimezone(tz):%Y-%m-%d}); got {value.strip()[:40]!r}"
        )
    start = now - back if back is not None else parse_moment(value, tz, flag)
    if start >= now:
        raise UserError(
            f"{flag}: {value.strip()[:40]} is not in the past; say 7d, 30d or a date like "
            f"{now.astimezone(tz):%Y-%m-%d}"
        )
    return start


def parse_moment(value: str, tz: tzinfo, flag: str, *, end: bool = False) -> datetime:
    """`2026-11-25` (a whole day in the bot's time zone: from its start, or with `end`
    up to its end) or an ISO 8601 time (`2026-11-25T09:30`, `…Z`, `…+01:00`)."""
    text = value.strip()
    try:
        if len(text) == 10:
            day = _sane(datetime.strptime(text, "%Y-%m-%d").date(), text, flag)
            if end:
                day += timedelta(days=1)
            return datetime.combine(day, time(0), tzinfo=tz)
        moment = datetime.fromisoformat(text)
        _sane(moment.date(), text, flag)
    except ValueError:
        raise UserError(
            f"{flag}: expected a date like 2026-11-25 or a time like 2026-11-25T09:30, "
            f"got {value[:40]!r}"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)
