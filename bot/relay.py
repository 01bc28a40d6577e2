"""Announcements between processes that share a database. An instance announces directly
on the networks it serves; for a network another process serves (it holds that network's
lease, or the SQLite run lock: bot.runlock), the announcement is written to the `relay`
table, and that process sends it. So `deployday console` and the command-line tools get
their announcements into chat through the running bot."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, delete, exists, insert, select, update

from bot.clock import Clock
from bot.messages import Message, Reply, reply_from_json, reply_to_json
from bot.store import RelayItem, Store
from bot.tasks import TaskTracker

log = logging.getLogger(__name__)

Deliver = Callable[[str, Reply, str | None, str | None], Awaitable[None]]
Elsewhere = Callable[[], Awaitable[set[str]]]  # networks other processes serve now
BATCH = 100
KEEP_DELIVERED = timedelta(days=1)
GIVE_UP_AFTER = timedelta(hours=1)  # nobody served that network for this long


class Relay:
    def __init__(
        self, store: Store, clock: Clock, elsewhere: Elsewhere, interval: timedelta
    ) -> None:
        self._store = store
        self._clock = clock
        self._elsewhere = elsewhere
        self.interval = interval

    async def post(
        self, reply: Reply, origin: Message | None, networks: set[str] | None, mine: set[str]
    ) -> set[str]:
        """Queue `reply` for every network another process serves now (within
        `networks`, if given), except the ones this instance sends to itself; returns
        those networks."""
        others = await self._elsewhere() - mine
        if networks is not None:
            others &= networks
        if not others:
            return others
        now, payload = self._clock.now(), reply_to_json(reply)
        rows = [
            {
                "created_at": now,
                "network": network,
                "payload": payload,
                "origin_network": origin.network if origin else None,
                "origin_room": origin.room.id if origin else None,
            }
            for network in sorted(others)
        ]
        await self._store.write(lambda c: c.execute(insert(RelayItem), rows))
        return others

    async def deliver(self, served: set[str], send: Deliver) -> int:
        """Send what waits for the networks this instance serves, oldest first. An item is
        marked delivered once handed to its transport, which queues it while offline."""
        if not served or not await self._store.read(_waiting):
            return 0
        now = self._clock.now()
        items = await self._store.write(lambda c: _claim(c, served, now))
        for item in items:
            try:
                await send(
                    item.network,
                    reply_from_json(item.payload),
                    item.origin_network,
                    item.origin_room,
                )
            except Exception:
                log.exception(
                    "relayed announcement %d for %s could not be sent", item.id, item.network
                )
        return len(items)

    async def run(
        self, served: Callable[[], set[str]], send: Deliver, tracker: TaskTracker
    ) -> None:
        """Deliver every `interval`, for as long as the task runs."""
        while True:
            await self._clock.sleep_until(self._clock.now() + self.interval)
            await asyncio.wait({tracker.spawn(self.deliver(served(), send), "relay")})


def _waiting(conn: Connection) -> bool:
    """Whether anything waits to be delivered, for any network: a read, so that an idle
    relay costs no write transaction every second."""
    return bool(conn.scalar(select(exists().where(RelayItem.delivered_at.is_(None)))))


def _claim(conn: Connection, served: set[str], now: datetime) -> list[Row[Any]]:
    """Take up to BATCH undelivered items for `served` networks and mark them delivered, in
    one transaction (on PostgreSQL, rows another instance is claiming are skipped); forget
    old ones and give up on those nobody served for too long."""
    items = conn.execute(
        select(RelayItem.id, RelayItem.network, RelayItem.payload)
        .add_columns(RelayItem.origin_network, RelayItem.origin_room)
        .where(RelayItem.network.in_(served), RelayItem.delivered_at.is_(None))
        .order_by(RelayItem.id)
        .limit(BATCH)
        .with_for_update(skip_locked=True)
    ).all()
    if items:
        conn.execute(
            update(RelayItem)
            .where(RelayItem.id.in_([i.id for i in items]))
            .values(delivered_at=now)
        )
    conn.execute(delete(RelayItem).where(RelayItem.delivered_at < now - KEEP_DELIVERED))
    stale = conn.execute(
        update(RelayItem)
        .where(RelayItem.delivered_at.is_(None), RelayItem.created_at < now - GIVE_UP_AFTER)
        .values(delivered_at=now)
    )
    if stale.rowcount:
        log.warning(
            "gave up on %d announcements for networks nobody served for %s",
            stale.rowcount,
            GIVE_UP_AFTER,
        )
    return list(items)
