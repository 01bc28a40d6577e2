"""A throwaway PostgreSQL cluster for the test session, and a fresh database per test.

The cluster is started from the machine's PostgreSQL binaries (Debian's `postgresql`
package) on a free loopback port. DEPLOYDAY_TEST_PG_URL points at an existing server
instead (its user must be allowed to create databases).
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from tests.servers.support import IS_ROOT, Server, as_user, free_port, need, server_dir


def _pg_bin() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return os.path.dirname(found[-1]) if found else None


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """Yields an admin URL (`postgresql://…/postgres`)."""
    url = os.environ.get("DEPLOYDAY_TEST_PG_URL")
    if url:
        yield url
        return
    pgbin = _pg_bin()
    need("PostgreSQL", pgbin is not None, "apt-get install postgresql")
    assert pgbin is not None
    d = server_dir("pg")
    if IS_ROOT:
        shutil.chown(d, "postgres", "postgres")
    subprocess.run(
        as_user(
            "postgres",
            [
                f"{pgbin}/initdb",
                "-D",
                f"{d}/data",
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ],
        ),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    port = free_port()

    def ready() -> bool:
        return (
            subprocess.run(
                [f"{pgbin}/pg_isready", "-q", "-h", "127.0.0.1", "-p", str(port)], check=False
            ).returncode
            == 0
        )

    server = Server(
        as_user(
            "postgres",
            [
                f"{pgbin}/postgres",
                "-D",
                f"{d}/data",
                "-p",
                str(port),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                f"unix_socket_directories={d}",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=200",
            ],
        ),
        d / "pg.log",
        ready,
        stop_signal=signal.SIGINT,
    ).start()
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        server.stop()
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
async def postgres_url(postgres_server: str) -> AsyncIterator[str]:
    """A new, empty database for one test; dropped afterwards."""
    name = f"deployday_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(postgres_server)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield postgres_server.rsplit("/", 1)[0] + f"/{name}"
    admin = await asyncpg.connect(postgres_server)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
