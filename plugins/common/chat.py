"""Chat wording every feature shares: durations, plurals, local clock times; and the
rooms a feature posts to unprompted."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from bot.messages import Reply
from bot.plugin import PluginAPI

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


async def post(api: PluginAPI, reply: Reply, rooms: Rooms) -> None:
    """To the rooms configured for it, or to every announcement room."""
    if not rooms:
        await api.announce(reply)
        return
    for network, room_ids in rooms.items():
        for room in room_ids:
            await api.send(network, room, reply, announcement=True)
