"""Chat wording every feature shares: durations, plurals, local clock times; the rooms a
feature posts to unprompted; and what only the person who asked should read."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from urllib.parse import quote

from bot.messages import Message, Reply
from bot.plugin import PluginAPI

log = logging.getLogger(__name__)

Rooms = dict[str, tuple[str, ...]]  # network name -> rooms; empty: the announcement rooms


def duration(delta: timedelta | None) -> str:
    """Short and human: 45s, 4m 10s, 1h 12m, 2d 3h."""
    if delta is None:
        return "—"
    total = round(delta.total_seconds())
    if total < 0:
        total = 0
    days, rem = divmod(total, 86400)
    hours, rem = divmod(rem, 3600)
    minutes, seconds = divmod(rem, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    if minutes:
        return f"{minutes}m {seconds}s" if seconds else f"{minutes}m"
    return f"{seconds}s"


def plural(n: int, singular: str, many: str | None = None) -> str:
    return f"{n} {singular if n == 1 else many or singular + 's'}"


def clock_time(when: datetime, tz: tzinfo, now: datetime) -> str:
    """HH:MM in the configured zone; with the date when it is not today there."""
    local = when.astimezone(tz)
    if local.date() == now.astimezone(tz).date():
        return local.strftime("%H:%M")
    return f"{local:%b} {local.day} {local:%H:%M}"


class ClockTimes:
    """The clock times of one reply: each as `clock_time`, the first one followed by the
    zone's abbreviation (09:12 CET), and any later one whose abbreviation differs (a reply
    that spans a change of the clocks). People on IRC in other zones read the bot's
    times, not their client's, so each reply says its zone once."""

    def __init__(self, tz: tzinfo, now: datetime) -> None:
        self._tz = tz
        self._now = now
        self._zone: str | None = None

    def __call__(self, when: datetime) -> str:
        shown = clock_time(when, self._tz, self._now)
        zone = when.astimezone(self._tz).tzname()
        if zone == self._zone:
            return shown
        self._zone = zone
        return f"{shown} {zone}"


async def post(api: PluginAPI, reply: Reply, rooms: Rooms) -> None:
    """To the rooms configured for it, or to every announcement room."""
    if not rooms:
        await api.announce(reply)
        return
    for network, room_ids in rooms.items():
        for room in room_ids:
            await api.send(network, room, reply, announcement=True)


async def aside(api: PluginAPI, origin: Message | None, line: str) -> str | None:
    """`line` is for whoever asked alone (why mail failed, a server path): returned for
    the reply when they asked in private, else sent to them privately. Callers log what
    matters, so nobody asking (a scheduled job) loses nothing."""
    if origin is None:
        return None
    if origin.room.is_direct:
        return line
    await api.send_privately(origin, Reply.of(line))
    return None


async def where(
    api: PluginAPI, origin: Message | None, path: Path, url_base: str | None, label: str
) -> str:
    """Where a file the bot wrote is, for a reply that may be read in a public room: a link
    under `url_base` when one is configured; else the full path when asked in private;
    else the file's name, with the path sent privately to whoever asked (`label` says
    what it is) and logged."""
    if url_base:
        return f"{url_base.rstrip('/')}/{quote(path.name)}"
    if origin is not None and origin.room.is_direct:
        return str(path)
    log.info("%s written to %s", label, path)
    if origin is not None and await api.send_privately(origin, Reply.of(f"{label}: {path}")):
        return f"{path.name} (the path went to {origin.sender.nick} privately)"
    return path.name
