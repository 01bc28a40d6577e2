"""What every network transport needs around its protocol, written once: the start/stop
life cycle, the reconnect loop with jittered exponential backoff, the outbox of replies
waiting to leave (bounded and fair between destinations, see `outbox`; marked
"[queued HH:MM]" when they leave late), handing messages to the sink, and the change
notifications `wait_ready` and `flushed` wait on.

A network subclass supplies what differs: the tasks it runs beside the reconnect loop
(`_begin`), one connection attempt (`_attempt`), how it hangs up (`_hang_up`) and what it
releases afterwards (`_release`).
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Coroutine, Iterable, Mapping
from datetime import timedelta, tzinfo
from typing import Any, ClassVar, Generic

from bot.clock import Clock
from bot.config.networks import ReconnectConfig
from bot.messages import Message
from bot.transports.base import Sink, TransportStats
from bot.transports.outbox import Outbox, Q, Queued

log = logging.getLogger(__name__)

DRAIN_TIMEOUT = 2.0  # how long stop() lets queued replies leave, and a clean hang-up take
QUEUED_AFTER = timedelta(seconds=60)  # replies that waited longer say when they were queued


class Backoff:
    """Jittered exponential backoff over a network's `reconnect` settings: each pause is
    drawn from the upper half of the current delay (never under `min_delay`), so bots cut
    off together do not all come back in the same second."""

    def __init__(self, policy: ReconnectConfig) -> None:
        self._policy = policy
        self._delay = policy.min_delay

    def reset(self) -> None:
        """After a success: the next pause is the shortest."""
        self._delay = self._policy.min_delay

    def longest(self) -> None:
        """After a failure that trying again soon cannot fix (a refused login)."""
        self._delay = self._policy.max_delay

    def next(self, *, grow: bool = True) -> float:
        """The pause before the next attempt; unless `grow` is False, the one after that
        is up to twice as long."""
        pause = random.uniform(max(self._policy.min_delay, self._delay / 2), self._delay)
        if grow:
            self._delay = min(self._delay * 2, self._policy.max_delay)
        return pause


class Outage:
    """A network that cannot be reached is logged once when that starts, with the retry
    delay, and once when it is reached again; the attempts between go to the debug log."""

    def __init__(self, name: str, policy: ReconnectConfig) -> None:
        self._name = name
        self._policy = policy
        self.failures = 0
        self._since = 0.0

    def failed(self, reason: str, pause: float) -> None:
        self.failures += 1
        if self.failures > 1:
            log.debug("%s: still unreachable (%s); attempt %d", self._name, reason, self.failures)
            return
        self._since = time.monotonic()
        log.warning(
            "%s: %s; retrying in %gs, then at most every %gs until it answers",
            self._name,
            reason,
            round(pause, 1),
            self._policy.max_delay,
        )

    def ended(self) -> None:
        if self.failures:
            log.info(
                "%s: reached again after %d failed attempts (%.0fs)",
                self._name,
                self.failures,
                time.monotonic() - self._since,
            )
        self.failures = 0


class SupervisedTransport(abc.ABC, Generic[Q]):
    """The common half of a network transport (see the module docstring)."""

    kind: ClassVar[str]
    trusted = False
    unit: ClassVar[str]  # what the outbox holds, for the logs: "lines", "messages"
    retrying: ClassVar[str] = "reconnecting"  # what the log says the pause is before

    def __init__(
        self,
        name: str,
        reconnect: ReconnectConfig,
        *,
        clock: Clock,
        tz: tzinfo,
        outbox_limit: int,
    ) -> None:
        self.name = name
        self._reconnect = reconnect
        self._clock = clock
        self._tz = tz
        self._outbox: Outbox[Q] = Outbox(outbox_limit, self._cut_note)
        self._sink: Sink | None = None
        self._tasks: list[asyncio.Task[None]] = []  # the reconnect loop first
        self._side_tasks: set[asyncio.Task[None]] = set()
        self._stopping = asyncio.Event()
        self._stopped = False
        self._changed = asyncio.Event()
        self.outage = Outage(name, reconnect)

    # --- what a network supplies ---

    @property
    @abc.abstractmethod
    def ready(self) -> bool:
        """Connected and in every configured room, so a reply would go out now."""

    @property
    @abc.abstractmethod
    def connections(self) -> int:
        """Connections made so far (an IRC registration, a Matrix sync after being off)."""

    @abc.abstractmethod
    def _begin(self) -> Mapping[str, Coroutine[Any, Any, None]]:
        """Prepare to connect; the tasks to run beside the reconnect loop, by role."""

    @abc.abstractmethod
    async def _attempt(self, backoff: Backoff) -> float | None:
        """One connection attempt: the pause before the next one (from `backoff` or the
        server), or None to go on at once. Raising counts as a failed attempt."""

    @abc.abstractmethod
    async def _hang_up(self) -> None:
        """Leave the network on stop(), giving queued replies a moment first."""

    @abc.abstractmethod
    def _cut_note(self, target: str, dropped: int) -> Q:
        """The item telling `target` that `dropped` of its items gave way to a full outbox."""

    async def _release(self) -> None:
        """Free what outlives the tasks, after they are gone."""

    def stats(self) -> TransportStats:
        return TransportStats(self.ready, max(0, self.connections - 1), len(self._outbox))

    # --- the life cycle ---

    async def start(self, sink: Sink) -> None:
        if self._tasks or self._stopped:
            return
        self._sink = sink
        jobs = {"supervisor": self._supervise(), **self._begin()}
        self._tasks = [
            asyncio.create_task(job, name=f"{self.kind}-{role}:{self.name}")
            for role, job in jobs.items()
        ]

    async def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._stopping.set()
        await self._hang_up()
        tasks = [*self._tasks, *self._side_tasks]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._outbox:
            log.warning("%s: stopped with %d unsent %s", self.name, len(self._outbox), self.unit)
        await self._release()

    async def _supervise(self) -> None:
        """Connect and stay connected until stop(): one attempt after another, with the
        pause each one asks for between them."""
        backoff = Backoff(self._reconnect)
        while not self._stopping.is_set():
            try:
                pause = await self._attempt(backoff)
            except Exception:
                log.exception("%s: connection failed", self.name)
                pause = backoff.next()
            if self._stopping.is_set():
                break
            if pause is not None:
                if not self.outage.failures:  # an outage logs its own delay, once
                    log.info("%s: %s in %.1fs", self.name, self.retrying, pause)
                await self._pause(pause)

    async def _pause(self, seconds: float) -> None:
        """Wait `seconds`, or less when stop() is called meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _drain_briefly(self, done: Callable[[], bool]) -> None:
        """Until `done`, but at most DRAIN_TIMEOUT: queued replies get a moment to leave
        before the transport hangs up."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(DRAIN_TIMEOUT):
                await self._until(done)

    def _spawn(self, job: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        """Run `job` beside the transport; stop() cancels it if it is still running."""
        task = asyncio.create_task(job, name=f"{self.kind}-{name}:{self.name}")
        self._side_tasks.add(task)
        task.add_done_callback(self._side_tasks.discard)
        return task

    async def _hand_over(self, message: Message) -> None:
        """Give one message to the sink (which queues it and returns); a failing sink is
        logged, never allowed to stop the network side."""
        if self._sink is None:
            return
        try:
            await self._sink(message)
        except Exception:
            log.exception("%s: the message sink failed", self.name)

    # --- the outbox ---

    def _enqueue(self, items: Iterable[Q]) -> None:
        """Queue replies in order; when the outbox is full, the newest replies of the
        longest backlog give way (their destination is told), announcements last, and the
        log says what went."""
        dropped = self._outbox.add(items)
        if dropped:
            announcements = sum(1 for d in dropped if d.announcement)
            log.warning(
                "%s: outbox full (%d %s); dropped %d (%d of them announcements), for %s",
                self.name,
                self._outbox.limit,
                self.unit,
                len(dropped),
                announcements,
                ", ".join(dict.fromkeys(d.target for d in dropped)),
            )

    def _late_note(self, item: Queued) -> str | None:
        """ "[queued HH:MM] " for a reply that waited longer than QUEUED_AFTER, so readers
        know it answers something said a while ago."""
        if self._clock.now() - item.queued_at <= QUEUED_AFTER:
            return None
        return f"[queued {item.queued_at.astimezone(self._tz):%H:%M %Z}] "

    # --- waiting for changes (tests, the demo, stop) ---

    def _notify(self) -> None:
        """Wake everyone waiting in `_until` to look again."""
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def _until(self, condition: Callable[[], bool]) -> None:
        while not condition():
            await self._changed.wait()

    async def wait_ready(self) -> None:
        """Until `ready` (wrap in asyncio.timeout)."""
        await self._until(lambda: self.ready)

    async def flushed(self) -> None:
        """Until every reply queued so far was delivered or given up on (wrap in
        asyncio.timeout)."""
        await self._until(lambda: not self._outbox)
