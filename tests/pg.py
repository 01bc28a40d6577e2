"""A throwaway PostgreSQL cluster for the test session, and a fresh database per test.

The cluster is started from the machine's PostgreSQL binaries (Debian's `postgresql`
package) on a free loopback port. DEPLOYDAY_TEST_PG_URL points at an existing server
instead (its user must be allowed to create databases).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator

import psycopg
import pytest

from tests.servers.support import need, postgres_binaries, postgres_cluster


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """Yields an admin URL (`postgresql://…/postgres`)."""
    url = os.environ.get("DEPLOYDAY_TEST_PG_URL")
    if url:
        yield url
        return
    pgbin = postgres_binaries()
    need("PostgreSQL", pgbin is not None, "apt-get install postgresql")
    assert pgbin is not None
    with postgres_cluster(pgbin) as admin_url:
        yield admin_url


@pytest.fixture
async def postgres_url(postgres_server: str) -> AsyncIterator[str]:
    """A new, empty database for one test; dropped afterwards."""
    name = f"deployday_{uuid.uuid4().hex[:12]}"
    async with await psycopg.AsyncConnection.connect(postgres_server, autocommit=True) as admin:
        await admin.execute(f'CREATE DATABASE "{name}"')
    yield postgres_server.rsplit("/", 1)[0] + f"/{name}"
    async with await psycopg.AsyncConnection.connect(postgres_server, autocommit=True) as admin:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
