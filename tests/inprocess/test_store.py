"""The store behaves the same on SQLite and PostgreSQL: migrations build exactly the
schema the models describe, times come back aware UTC, counters stay gapless."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import select, text

import plugins.models  # noqa: F401  (registers the feature tables on Base.metadata)
from bot.config import async_database_url
from bot.store import Base, KeyValue, Store
from bot.store.db import next_counter
from bot.store.migrate import alembic_config
from plugins import MIGRATIONS

VERSIONS = [MIGRATIONS / "versions"]


async def _store(url: str) -> Store:
    store = Store(async_database_url(url, Path.cwd()))
    await store.upgrade(VERSIONS)
    return store


async def test_migrations_match_the_models(database_url: str) -> None:
    store = await _store(database_url)
    try:
        async with store.engine.connect() as conn:
            diff = await conn.run_sync(
                lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata)
            )
        assert diff == []
        assert not await store.pending_migrations(VERSIONS)
    finally:
        await store.dispose()


async def test_upgrade_twice_is_a_no_op(database_url: str) -> None:
    store = await _store(database_url)
    try:
        await store.upgrade(VERSIONS)
        async with store.read() as s:
            heads = (await s.execute(text("select version_num from alembic_version"))).scalars()
            script = ScriptDirectory.from_config(alembic_config(VERSIONS))
            assert set(heads) == set(script.get_heads())
    finally:
        await store.dispose()


async def test_times_round_trip_as_aware_utc(database_url: str) -> None:
    store = await _store(database_url)
    prague = timezone(timedelta(hours=1))
    when = datetime(2026, 11, 25, 10, 30, 15, 123000, tzinfo=prague)
    try:
        async with store.write() as s:
            s.add(KeyValue(key="k", value="v", updated_at=when))
        async with store.read() as s:
            got = await s.scalar(select(KeyValue.updated_at).where(KeyValue.key == "k"))
        assert got == when
        assert got.tzinfo is not None and got.utcoffset() == timedelta(0)
        assert got.astimezone(UTC).hour == 9
    finally:
        await store.dispose()


async def test_counters_are_gapless_under_concurrency(database_url: str) -> None:
    store = await _store(database_url)

    async def allocate() -> int:
        async with store.write() as s:
            return await next_counter(s, "incident")

    try:
        got = await asyncio.gather(*(allocate() for _ in range(40)))
        assert sorted(got) == list(range(1, 41))
    finally:
        await store.dispose()


async def test_a_failed_transaction_leaves_no_trace(database_url: str) -> None:
    store = await _store(database_url)
    try:
        try:
            async with store.write() as s:
                await next_counter(s, "incident")
                s.add(KeyValue(key="half", value="written", updated_at=datetime.now(UTC)))
                await s.flush()
                raise RuntimeError("boom")
        except RuntimeError:
            pass
        async with store.write() as s:
            assert await next_counter(s, "incident") == 1
            assert await s.get(KeyValue, "half") is None
    finally:
        await store.dispose()


async def test_instances_starting_together_migrate_once(database_url: str) -> None:
    stores = [Store(async_database_url(database_url, Path.cwd())) for _ in range(4)]
    try:
        await asyncio.gather(*(s.upgrade(VERSIONS) for s in stores))
        assert not await stores[0].pending_migrations(VERSIONS)
    finally:
        for store in stores:
            await store.dispose()


def test_a_current_database_starts_without_loading_alembic(tmp_path: Path) -> None:
    """Alembic is slow to import; a start on an up-to-date database does not need it."""
    import subprocess
    import sys

    db = tmp_path / "current.sqlite3"
    script = (
        "import asyncio, sys\n"
        "from bot.store import Store\n"
        "from plugins import MIGRATIONS\n"
        f"store = Store('sqlite+aiosqlite:///{db}')\n"
        "asyncio.run(store.upgrade([MIGRATIONS / 'versions']))\n"
        "print('alembic' in sys.modules)\n"
    )
    runs = [
        subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
        ).stdout.strip()
        for _ in range(2)
    ]
    assert runs == ["True", "False"]  # the first creates the schema, the second only checks
