"""core_0003 on a database with people in it: their nicks are folded the way the bot looks
them up (IRC by rfc1459, Matrix display names case-insensitively), the stored
`authenticated` flag goes, and the link record table is there, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine, inspect, text

from bot.config import engine_url
from bot.store.migrate import alembic_config

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def test_existing_identities_are_folded_and_the_flag_dropped(
    database_url: str, tmp_path: Path
) -> None:
    engine = create_engine(engine_url(database_url, tmp_path))
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config([], conn), "core_0002")
            conn.execute(
                text("INSERT INTO people (id, name, created_at) VALUES (1, 'x', :t)"), {"t": T0}
            )
            rows = [
                (1, "libera", "{alice}", "[Alice]", True),
                (2, "fedora", "@bob:example.org", "Bob", True),
                (3, "libera", "~carol", "Carol", False),
            ]
            for identity_id, network, key, nick, authenticated in rows:
                conn.execute(
                    text(
                        "INSERT INTO identities (id, person_id, network, key, nick, "
                        "authenticated, last_seen) VALUES (:i, 1, :n, :k, :nick, :a, :t)"
                    ),
                    {
                        "i": identity_id,
                        "n": network,
                        "k": key,
                        "nick": nick,
                        "a": authenticated,
                        "t": T0,
                    },
                )
        with engine.begin() as conn:
            command.upgrade(alembic_config([], conn), "core_0003")
            folded = conn.execute(text("SELECT key, nick_folded FROM identities ORDER BY id")).all()
            columns = {c["name"] for c in inspect(conn).get_columns("identities")}
            tables = set(inspect(conn).get_table_names())
        assert [tuple(r) for r in folded] == [
            ("{alice}", "{alice}"),
            ("@bob:example.org", "bob"),
            ("~carol", "carol"),
        ]
        assert "authenticated" not in columns and "nick_folded" in columns
        assert "identity_links" in tables
    finally:
        engine.dispose()
