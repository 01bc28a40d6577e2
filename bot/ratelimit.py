"""An async token bucket for outgoing lines: servers kill clients that flood, and sleeping
inside the `irc` library would stall the whole event loop, so senders await a token here."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class TokenBucket:
    """Up to `burst` lines at once, then `per_second` lines each second. `now` and `sleep`
    are injectable so tests can drive the bucket without waiting."""

    def __init__(
        self,
        burst: int,
        per_second: float,
        *,
        now: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if burst < 1 or per_second <= 0:
            raise ValueError("a token bucket needs burst >= 1 and per_second > 0")
        self.burst = burst
        self.per_second = per_second
        self._now = now
        self._sleep = sleep
        self._tokens = float(burst)
        self._stamp = now()

    def _refill(self) -> None:
        now = self._now()
        elapsed = max(0.0, now - self._stamp)
        self._tokens = min(float(self.burst), self._tokens + elapsed * self.per_second)
        self._stamp = now

    def wait_time(self) -> float:
        """Seconds until a token is available (0 when one is available now)."""
        self._refill()
        return 0.0 if self._tokens >= 1 else (1 - self._tokens) / self.per_second

    @property
    def full(self) -> bool:
        self._refill()
        return self._tokens >= self.burst

    def try_take(self) -> bool:
        if self.wait_time() > 0:
            return False
        self._tokens -= 1
        return True

    async def take(self) -> None:
        """Wait for a token and spend it."""
        while not self.try_take():
            await self._sleep(self.wait_time())
