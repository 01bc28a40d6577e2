"""Long private answers a page at a time: the first page goes out at once, the rest waits
here for `!more`, so one person's 150-line answer is never queued whole. What waits is
bounded (people, lines) and forgotten after a while."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import Clock

KEEP_FOR = timedelta(minutes=30)
MAX_PEOPLE = 200  # remainders kept at once; the least recently used goes first
MAX_LINES = 2000  # of one remainder; an answer longer than that is cut there


@dataclass(slots=True)
class _Rest:
    lines: list[str]
    until: datetime
    cut: int  # lines beyond MAX_LINES, not kept


class Pager:
    def __init__(self, clock: Clock, page: int, prefix: str = "!") -> None:
        if page < 2:
            raise ValueError("a page has room for at least one line and the note")
        self._clock = clock
        self.page = page
        self._prefix = prefix
        self._rests: OrderedDict[str, _Rest] = OrderedDict()

    def first(self, key: str, lines: list[str]) -> list[str]:
        """What to send of a new answer to `key` now; a longer answer's rest is kept for
        `more`, in place of an older one (`!more` continues the last long answer; short
        answers meanwhile leave it be)."""
        if len(lines) <= self.page:
            return lines
        rest = lines[self.page - 1 :]
        self._rests[key] = _Rest(
            rest[:MAX_LINES], self._clock.now() + KEEP_FOR, max(0, len(rest) - MAX_LINES)
        )
        while len(self._rests) > MAX_PEOPLE:
            self._rests.popitem(last=False)
        return [*lines[: self.page - 1], self._note(self._rests[key])]

    def more(self, key: str) -> list[str] | None:
        """The next page of the last long answer to `key`, or None when nothing waits."""
        rest = self._rests.get(key)
        if rest is None or rest.until <= self._clock.now():
            self._rests.pop(key, None)
            return None
        self._rests.move_to_end(key)
        if len(rest.lines) <= self.page:
            del self._rests[key]
            tail = [f"… and {rest.cut} more lines I did not keep"] if rest.cut else []
            return [*rest.lines, *tail]
        page, rest.lines = rest.lines[: self.page - 1], rest.lines[self.page - 1 :]
        rest.until = self._clock.now() + KEEP_FOR
        return [*page, self._note(rest)]

    def _note(self, rest: _Rest) -> str:
        kept = len(rest.lines)
        step = kept if kept <= self.page else self.page - 1
        return (
            f"… {kept} more lines: say {self._prefix}more for the next {step} "
            f"(kept for {KEEP_FOR.seconds // 60} minutes)"
        )
