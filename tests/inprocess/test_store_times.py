"""Times read back from a UTC column: aware and in UTC whatever form the database holds
them in (SQLite keeps text and has its own fast parse, PostgreSQL a timestamptz), and
a time written in another zone reads back as the same instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import Column, Integer, MetaData, Table, create_engine, insert, select, text

from bot.config import engine_url
from bot.store.types import UTCDateTime

CET = timezone(timedelta(hours=1))
TIMES = Table(
    "times", MetaData(), Column("id", Integer, primary_key=True), Column("at", UTCDateTime)
)


def test_times_read_back_aware_in_utc(database_url: str, tmp_path: Path) -> None:
    engine = create_engine(engine_url(database_url, tmp_path))
    stored = {
        1: "2026-01-05 08:00:00.123456",  # as this type writes times on SQLite
        2: "2026-01-05 08:00:00",
        3: "2026-01-05 10:00:00+02:00",  # a zone of its own
        4: None,
    }
    try:
        TIMES.create(engine)
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":  # zoneless text: in the session's zone
                conn.execute(text("SET TIME ZONE 'UTC'"))
            for key, value in stored.items():
                conn.execute(
                    text("INSERT INTO times (id, at) VALUES (:i, :at)"), {"i": key, "at": value}
                )
            conn.execute(insert(TIMES), {"id": 5, "at": datetime(2026, 1, 5, 9, 30, tzinfo=CET)})
            read = dict(conn.execute(select(TIMES.c.id, TIMES.c.at)).all())
    finally:
        TIMES.drop(engine, checkfirst=True)
        engine.dispose()
    assert read == {
        1: datetime(2026, 1, 5, 8, 0, 0, 123456, tzinfo=UTC),
        2: datetime(2026, 1, 5, 8, 0, tzinfo=UTC),
        3: datetime(2026, 1, 5, 8, 0, tzinfo=UTC),
        4: None,
        5: datetime(2026, 1, 5, 8, 30, tzinfo=UTC),
    }
    assert all(at is None or at.tzinfo is UTC for at in read.values())
