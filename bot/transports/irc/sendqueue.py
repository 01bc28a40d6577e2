"""Pacing what the bot says on IRC: servers disconnect clients that flood, and the `irc`
library's own rate limit sleeps inside the event loop, so lines wait in the outbox and one
writer per connection sends them as an async token bucket allows, every line allowed at a
moment in one socket write."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from bot.config.networks import FloodConfig
from bot.ratelimit import TokenBucket
from bot.transports.irc.connection import IrcConnection, send_lines
from bot.transports.irc.text import privmsg_budget, split_line
from bot.transports.supervisor import Queued


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
    """The outbox's reader: oldest deliverable line first (a line for a channel the bot is
    not in yet waits without holding up the others), one token per line."""

    def __init__(
        self,
        outbox: deque[QueuedLine],
        flood: FloodConfig,
        *,
        note: Callable[[Queued], str | None],
        sent: Callable[[], None],
    ) -> None:
        self._outbox = outbox
        self._flood = flood
        self._note = note
        self._sent = sent
        self.wake = asyncio.Event()  # set when a line may have become sendable
        self.lines_sent = 0  # PRIVMSG lines written to sockets, for the demo and benchmarks

    def next_ready(self, deliverable: Callable[[str], bool]) -> QueuedLine | None:
        return next((o for o in self._outbox if deliverable(o.target)), None)

    async def run(self, speaker: Speaker, deliverable: Callable[[str], bool]) -> None:
        """Write lines to `speaker` until its connection closes; `deliverable(target)`
        says whether a line for `target` may go out on it now."""
        conn = speaker.conn
        bucket = TokenBucket(
            self._flood.burst, self._flood.per_second, now=asyncio.get_running_loop().time
        )
        while not conn.closed.is_set():
            if self.next_ready(deliverable) is None:
                self.wake.clear()
                await self.wake.wait()
                continue
            await bucket.take()
            batch: list[QueuedLine] = []
            item = self.next_ready(deliverable)
            while item is not None:
                self._outbox.remove(item)
                batch.append(item)
                item = self.next_ready(deliverable)
                if item is not None and not bucket.try_take():
                    break
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
