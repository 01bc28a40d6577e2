"""What a transport has yet to send: bounded, and fair between destinations.

Each destination (a channel, a person, a room) has a queue of its own and the queues are
served in turn, one item each, so a long backlog for one person delays a reply to someone
else by a few items at most. When the bound is reached, what gives way is the newest
reply of the longest backlog; its destination gets one line saying what was cut, and
announcements are the last to go."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar


@dataclass(eq=False, slots=True, kw_only=True)
class Queued:
    """Something in the outbox for `target` (a channel, a nick, a room). `announcement`:
    said to a room unprompted (kept longest); `cut`: the line saying what was dropped."""

    target: str
    queued_at: datetime
    announcement: bool = False
    cut: bool = False


Q = TypeVar("Q", bound=Queued)


def cut_text(dropped: int, unit: str) -> str:
    """What a destination is told when `dropped` of its items (lines, messages) gave way."""
    noun = unit if dropped == 1 else unit + "s"
    return (
        f"… {dropped} {noun} of my answers here were dropped: more than I can send at once; "
        "ask again in a moment"
    )


CutNote = Callable[[str, int], Q]  # (target, items dropped there) -> the item saying so


class Outbox(Generic[Q]):
    def __init__(self, limit: int, cut_note: CutNote[Q]) -> None:
        if limit < 1:
            raise ValueError("an outbox holds at least one item")
        self.limit = limit
        self._cut_note = cut_note
        self._queues: dict[str, deque[Q]] = {}  # in the order of their turns
        self._size = 0
        self._cut: dict[str, int] = {}  # dropped since the destination was last told

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[Q]:
        for queue in list(self._queues.values()):
            yield from queue

    def add(self, items: Iterable[Q]) -> list[Q]:
        """Queue `items` in order; when full, make room (see the module docstring), and
        tell each destination whose replies were cut. Returns what was dropped."""
        dropped: list[Q] = []
        for item in items:
            if self._size >= self.limit:
                victim = self._victim(item)
                dropped.append(victim)
                if victim is item:
                    continue
                self._discard(victim)
            self._queues.setdefault(item.target, deque()).append(item)
            self._size += 1
        cut: dict[str, int] = {}
        for item in dropped:
            if not item.announcement:
                cut[item.target] = cut.get(item.target, 0) + 1
        for target, count in cut.items():
            self._tell(target, count)
        return dropped

    def _victim(self, incoming: Q) -> Q:
        """The newest reply of the destination with the most replies waiting (counting
        `incoming`); with no reply anywhere, the oldest announcement."""
        longest, most = incoming.target, 0 if incoming.announcement else 1
        for target, queue in self._queues.items():
            replies = sum(1 for q in queue if not q.announcement and not q.cut)
            replies += target == incoming.target and not incoming.announcement
            if replies > most:
                longest, most = target, replies
        if most and longest == incoming.target and not incoming.announcement:
            return incoming
        if most:
            return next(
                q for q in reversed(self._queues[longest]) if not q.announcement and not q.cut
            )
        oldest = (next((q for q in queue if not q.cut), None) for queue in self._queues.values())
        return min([*(q for q in oldest if q is not None), incoming], key=lambda q: q.queued_at)

    def _discard(self, item: Q) -> None:
        queue = self._queues[item.target]
        queue.remove(item)
        self._size -= 1
        if not queue:
            del self._queues[item.target]

    def _tell(self, target: str, count: int) -> None:
        """One cut note per destination at its queue's end, its count kept current."""
        total = self._cut.get(target, 0) + count
        self._cut[target] = total
        queue = self._queues.setdefault(target, deque())
        if queue and queue[-1].cut:
            queue.pop()
            self._size -= 1
        queue.append(self._cut_note(target, total))
        self._size += 1

    def ready(self, deliverable: Callable[[str], bool]) -> bool:
        """Whether some destination that may be sent to now has something waiting."""
        return any(deliverable(target) for target in self._queues)

    def take(self, deliverable: Callable[[str], bool]) -> Q | None:
        """The next item in turn among destinations that may be sent to now, removed;
        its destination goes to the back of the line."""
        for target in list(self._queues):
            if deliverable(target):
                return self._pop(target)
        return None

    def peek(self, target: str) -> Q | None:
        queue = self._queues.get(target)
        return queue[0] if queue else None

    def remove(self, item: Q) -> None:
        """Take `item` out (sent or given up on), if it is still queued; its destination
        goes to the back of the line."""
        queue = self._queues.get(item.target)
        if queue and queue[0] is item:
            self._pop(item.target)
        elif queue and item in queue:
            queue.remove(item)
            self._size -= 1

    def _pop(self, target: str) -> Q:
        queue = self._queues.pop(target)
        item = queue.popleft()
        self._size -= 1
        if item.cut:
            self._cut.pop(target, None)
        if queue:
            self._queues[target] = queue  # re-inserted: last in turn
        return item
