"""The store behaves the same on SQLite and PostgreSQL: migrations build exactly the
schema the models describe, times come back aware UTC, counters stay gapless."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, func, insert, select, text
from sqlalchemy.exc import IntegrityError

import plugins.models  # noqa: F401  (registers the feature tables on Base.metadata)
from bot.config import engine_url
from bot.store import Base, KeyValue, Store
from bot.store.db import next_counter, orm
from bot.store.migrate import alembic_config
from bot.store.sql import iso_utc
from plugins import MIGRATIONS
from plugins.common.files import iso

VERSIONS = [MIGRATIONS / "versions"]
T = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


async def _store(url: str) -> Store:
    store = Store(engine_url(url, Path.cwd()))
    await store.upgrade(VERSIONS)
    return store


async def test_migrations_match_the_models(database_url: str) -> None:
    store = await _store(database_url)
    try:
        diff = await store.read(
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
        heads = await store.read(
            lambda c: c.execute(text("select version_num from alembic_version")).scalars().all()
        )
        script = ScriptDirectory.from_config(alembic_config(VERSIONS))
        assert set(heads) == set(script.get_heads())
    finally:
        await store.dispose()


async def test_times_round_trip_as_aware_utc(database_url: str) -> None:
    store = await _store(database_url)
    prague = timezone(timedelta(hours=1))
    when = datetime(2026, 11, 25, 10, 30, 15, 123000, tzinfo=prague)
    try:
        await store.write(
            lambda c: c.execute(insert(KeyValue).values(key="k", value="v", updated_at=when))
        )
        got = await store.read(
            lambda c: c.scalar(select(KeyValue.updated_at).where(KeyValue.key == "k"))
        )
        assert got == when
        assert got.tzinfo is not None and got.utcoffset() == timedelta(0)
        assert got.astimezone(UTC).hour == 9
    finally:
        await store.dispose()


async def test_counters_are_gapless_under_concurrency(database_url: str) -> None:
    store = await _store(database_url)

    async def allocate() -> int:
        return await store.write(lambda c: next_counter(c, "incident"))

    try:
        got = await asyncio.gather(*(allocate() for _ in range(40)))
        assert sorted(got) == list(range(1, 41))
    finally:
        await store.dispose()


async def test_a_failed_transaction_leaves_no_trace(database_url: str) -> None:
    store = await _store(database_url)
    try:

        def half_written(c: Connection) -> None:
            next_counter(c, "incident")
            with orm(c) as s:
                s.add(KeyValue(key="half", value="written", updated_at=datetime.now(UTC)))
            raise RuntimeError("boom")

        with pytest.raises(RuntimeError):
            await store.write(half_written)

        def after(c: Connection) -> tuple[int, object]:
            return next_counter(c, "incident"), c.scalar(
                select(KeyValue.value).where(KeyValue.key == "half")
            )

        assert await store.write(after) == (1, None)
    finally:
        await store.dispose()


async def test_instances_starting_together_migrate_once(database_url: str) -> None:
    stores = [Store(engine_url(database_url, Path.cwd())) for _ in range(4)]
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
        f"store = Store('sqlite:///{db}')\n"
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


async def test_writes_that_arrive_together_share_a_commit_and_fail_alone(
    database_url: str,
) -> None:
    """50 commands at once: each is answered only after the commit that made it durable
    (a second connection sees it by then), and the two that fail (one in Python, one in
    the database) leave no trace while the 48 others stand."""
    store = await _store(database_url)
    commits_before, _ = store.grouping

    def note(i: int) -> Callable[[Connection], int]:
        def unit(c: Connection) -> int:
            number = next_counter(c, "incident")
            key = "note:0" if i == 27 else f"note:{i}"  # 27 collides with 0's row
            c.execute(insert(KeyValue).values(key=key, value=str(number), updated_at=T))
            if i == 13:
                raise ValueError("the thirteenth fails")
            return number

        return unit

    async def acknowledged(i: int) -> tuple[int, object]:
        try:
            number = await store.write(note(i))
        except (ValueError, IntegrityError):
            return i, "failed"
        seen = await store.read(
            lambda c: c.scalar(select(KeyValue.value).where(KeyValue.key == f"note:{i}"))
        )
        return i, (number, seen)

    try:
        results = dict(await asyncio.gather(*(acknowledged(i) for i in range(50))))
        assert results.pop(13) == "failed"
        # the database refused one of 0 and 27, whichever came second
        refused = [k for k in (0, 27) if results[k] == "failed"]
        assert len(refused) == 1
        results.pop(refused[0])
        numbers = sorted(n for n, _ in results.values())  # type: ignore[misc]
        assert numbers == list(range(1, 49))  # gapless: the failed ones gave their numbers back
        assert all(seen == str(n) for n, seen in results.values())  # type: ignore[misc]
        count = await store.read(
            lambda c: c.scalar(
                select(func.count()).select_from(KeyValue).where(KeyValue.key.like("note:%"))
            )
        )
        assert count == 48
        commits, units = store.grouping
        assert units >= 50 and commits - commits_before < 50  # some shared a commit
    finally:
        await store.dispose()


async def test_times_as_iso_text_match_python_on_both_databases(database_url: str) -> None:
    """Exports take their times as text from the database: the same text Python writes."""
    store = await _store(database_url)
    times = {
        "whole": datetime(2026, 11, 25, 9, 0, tzinfo=UTC),
        "fraction": datetime(2026, 11, 25, 9, 0, 1, 250000, tzinfo=UTC),
        "elsewhere": datetime(2026, 11, 25, 10, 30, 15, 7, tzinfo=timezone(timedelta(hours=1))),
    }
    rows = [{"key": k, "value": "", "updated_at": when} for k, when in times.items()]
    try:
        await store.write(lambda c: c.execute(insert(KeyValue), rows))
        got = await store.read(
            lambda c: dict(
                c.execute(
                    select(KeyValue.key, iso_utc(KeyValue.updated_at)).where(
                        KeyValue.key.in_(times)
                    )
                ).all()
            )
        )
        assert got == {k: iso(when) for k, when in times.items()}
        assert got["fraction"] == "2026-11-25T09:00:01.250000Z"
    finally:
        await store.dispose()
