"""The systemd notify protocol, spoken directly: one datagram per state change to the
socket named by NOTIFY_SOCKET (a path, or an abstract name starting with '@'). Without
the variable (not started by systemd with Type=notify) every call does nothing."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Mapping

log = logging.getLogger(__name__)


class Notifier:
    def __init__(self, address: str | None, watchdog_usec: int | None = None) -> None:
        self._address = "\0" + address[1:] if address and address.startswith("@") else address
        self.watchdog_interval = watchdog_usec / 2_000_000 if watchdog_usec else None

    @classmethod
    def from_environment(cls, env: Mapping[str, str] = os.environ) -> Notifier:
        """The socket and watchdog systemd gave this process. WATCHDOG_PID, when set,
        must be ours: a watchdog meant for a parent is not ours to feed."""
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        mine = not pid or pid == str(os.getpid())
        return cls(env.get("NOTIFY_SOCKET") or None, int(usec) if usec.isdigit() and mine else None)

    @property
    def enabled(self) -> bool:
        return self._address is not None

    def send(self, **fields: str) -> None:
        """READY="1", STOPPING="1", WATCHDOG="1", STATUS="…"; a failure is logged once
        per call, never raised: the bot works the same without its supervisor."""
        if self._address is None:
            return
        payload = "\n".join(f"{key.upper()}={value}" for key, value in fields.items())
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.setblocking(False)
                sock.sendto(payload.encode(), self._address)
        except OSError as exc:
            log.warning("cannot notify systemd at %s: %s", self._address.lstrip("\0"), exc)

    async def watchdog(self, database_answers: Callable[[], Awaitable[None]]) -> None:
        """WATCHDOG=1 every `watchdog_interval` (wall time, as systemd counts), but only
        while `database_answers()` returns in time: that this runs at all shows the event
        loop turns, and a bot whose database does not answer cannot record anything, so
        it should be restarted."""
        interval = self.watchdog_interval or 0.0
        failing = False
        while interval:
            try:
                async with asyncio.timeout(interval):
                    await database_answers()
            except Exception as exc:
                if not failing:
                    log.warning(
                        "the database does not answer (%s); not telling systemd all is well",
                        exc or type(exc).__name__,
                    )
                failing = True
            else:
                if failing:
                    log.info("the database answers again")
                failing = False
                self.send(watchdog="1")
            await asyncio.sleep(interval)
