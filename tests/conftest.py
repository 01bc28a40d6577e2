"""Fixtures shared by every tier."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from bot.devtools.harness import Harness
from tests.pg import postgres_server, postgres_url

__all__ = ["postgres_server", "postgres_url"]

# In CI the property tests replay the same examples every run, so a landing never hinges
# on luck; on developers' machines they keep exploring new ones.
settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("DEPLOYDAY_REQUIRE_SERVERS") == "1":
    settings.load_profile("ci")


@pytest.fixture(autouse=True)
def _root_logging_restored() -> Iterator[None]:
    """A test that runs the command line gets its log handlers on the root logger, writing
    to pytest's captured stderr; put the root back, or a later test's server threads log
    into a closed stream ("--- Logging error ---" in CI's output)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    for handler in handlers:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(level)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test against SQLite and against a real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'deployday.sqlite3'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[Harness]:
    """The whole bot on a memory transport and a real SQLite file; alice is an admin."""
    harness = await Harness.start(tmp_path / "bot.sqlite3", admins=["alice@test"])
    yield harness
    await harness.close()
