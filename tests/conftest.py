"""Fixtures shared by every tier."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.testing import Harness
from tests.pg import postgres_server, postgres_url

__all__ = ["postgres_server", "postgres_url"]


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test against SQLite and against a real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'deployday.sqlite3'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[Harness]:
    """The whole bot on a memory transport and a real SQLite file; alice is an admin."""
    harness = await Harness.start(tmp_path / "bot.sqlite3", admins=["alice"])
    yield harness
    await harness.close()
