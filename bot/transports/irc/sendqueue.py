"""Pacing what the bot says on IRC: servers disconnect clients that flood, and the `irc`
library's own rate limit sleeps inside the event loop, so lines wait in the outbox and one
writer per connection sends them as an async token bucket allows, destinations in turn
(one person's long answer never holds up a channel's reply), every line allowed at a
moment in one socket write."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from bot.clock import Clock
from bot.config.networks import FloodConfig
from bot.ratelimit import TokenBucket
from bot.transports.irc.connection import IrcConnection, send_lines
from bot.transports.irc.text import privmsg_budget, split_line
from bot.transports.outbox import Outbox, Queued, cut_text
from bot.transports.pager import Pager


@dataclass(eq=False, slots=True, kw_only=True)
class QueuedLine(Queued):
    """One line of a reply, rendered for the target and cut to the budget known when it
    was queued; cut again on the way out if the bot's nick or host grew since."""

    text: str


class Speaker(Protocol):
    """What the writer needs of the connection it writes to."""

    conn: IrcConnection
    nick: str
    userhost: str | None


class SendQueue:
    """What goes into the outbox (a long private answer a page at a time, the rest kept
    for `more`) and the outbox's reader: destinations in turn, a line each (a line for a
    channel the bot is not in yet waits without holding up the others), one token per
    line."""

    def __init__(
        self,
        outbox: Outbox[QueuedLine],
        flood: FloodConfig,
        pager: Pager,
        *,
        clock: Clock,
        enqueue: Callable[[Iterable[QueuedLine]], None],
        note: Callable[[Queued], str | None],
        sent: Callable[[], None],
    ) -> None:
        self._outbox = outbox
        self._flood = flood
        self._pager = pager
        self._clock = clock
        self._enqueue = enqueue
        self._note = note
        self._sent = sent
        self.wake = asyncio.Event()  # set when a line may have become sendable
        self.lines_sent = 0  # PRIVMSG lines written to sockets, for the demo and benchmarks

    def say(self, target: str, lines: list[str], *, person: str | None, announce: bool) -> None:
        """Queue `lines` for `target`; to a `person` (their folded nick), the first page."""
        if person is not None:
            lines = self._pager.first(person, lines)
        self._put(target, lines, announce)

    def more(self, target: str, person: str) -> bool:
        """Queue the next page of the last long answer to `person`; False if none waits."""
        lines = self._pager.more(person)
        if lines is not None:
            self._put(target, lines, False)
        return lines is not None

    def cut_note(self, target: str, dropped: int) -> QueuedLine:
        now = self._clock.now()
        return QueuedLine(target=target, text=cut_text(dropped, "line"), queued_at=now, cut=True)

    def _put(self, target: str, lines: list[str], announce: bool) -> None:
        now = self._clock.now()
        self._enqueue(
            QueuedLine(target=target, text=line, queued_at=now, announcement=announce)
            for line in lines
        )
        self.wake.set()

    def ready(self, deliverable: Callable[[str], bool]) -> bool:
        return self._outbox.ready(deliverable)

    async def run(self, speaker: Speaker, deliverable: Callable[[str], bool]) -> None:
        """Write lines to `speaker` until its connection closes; `deliverable(target)`
        says whether a line for `target` may go out on it now."""
        conn = speaker.conn
        bucket = TokenBucket(
            self._flood.burst, self._flood.per_second, now=asyncio.get_running_loop().time
        )
        while not conn.closed.is_set():
            if not self._outbox.ready(deliverable):
                self.wake.clear()
                await self.wake.wait()
                continue
            await bucket.take()
            batch: list[QueuedLine] = []
            item = self._outbox.take(deliverable)
            while item is not None:
                batch.append(item)
                if not self._outbox.ready(deliverable) or not bucket.try_take():
                    break
                item = self._outbox.take(deliverable)
            if batch and not conn.closed.is_set():
                self.lines_sent += send_lines(conn, self._privmsgs(speaker, batch))
                self._sent()

    def _privmsgs(self, speaker: Speaker, batch: list[QueuedLine]) -> list[str]:
        lines: list[str] = []
        for item in batch:
            text = (self._note(item) or "") + item.text
            budget = privmsg_budget(speaker.nick, speaker.userhost, item.target)
            lines += [f"PRIVMSG {item.target} :{piece}" for piece in split_line(text, budget)]
        return lines
