"""The servers a benchmark talks to: ngircd with the flood penalty off, and a throwaway
PostgreSQL cluster (or the one DEPLOYDAY_BENCH_PG_URL names). Started like the test
suite starts them (tests/servers), stopped by PID."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg

from tests.servers.ircd import NGIRCD_CONF
from tests.servers.support import (
    IS_ROOT,
    Server,
    as_user,
    free_port,
    postgres_binaries,
    postgres_cluster,
    server_dir,
    tcp_open,
    which,
)

HOST = "127.0.0.1"


class Missing(Exception):
    """A server the benchmark needs is not installed; the message says how to get it."""


@dataclass(frozen=True)
class Ircd:
    host: str
    port: int
    pid: int


@contextmanager
def ngircd() -> Iterator[Ircd]:
    """ngircd on a free loopback port: no flood penalty, no per-IP connection limit."""
    binary = which("ngircd")
    if binary is None:
        raise Missing("ngircd is not installed: apt-get install -y ngircd")
    d = server_dir("bench-ngircd")
    conf_d = d / "conf.d"
    conf_d.mkdir()
    conf_d.chmod(0o755)
    if IS_ROOT:
        shutil.chown(conf_d, "nobody", "nogroup")
    port = free_port()
    conf = d / "ngircd.conf"
    conf.write_text(NGIRCD_CONF.replace("@DIR@", str(d)).replace("@PORT@", str(port)))
    server = Server(
        as_user("nobody", [binary, "-n", "-f", str(conf)]),
        d / "ngircd.log",
        lambda: tcp_open(port),
    ).start()
    assert server.proc is not None
    try:
        yield Ircd(HOST, port, server.proc.pid)
    finally:
        server.stop()
        shutil.rmtree(d, ignore_errors=True)


def ngircd_version() -> str | None:
    binary = which("ngircd")
    if binary is None:
        return None
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    return out.stdout.split("\n", 1)[0].strip() or None


@contextmanager
def postgres() -> Iterator[str]:
    """An admin URL (`postgresql://…/postgres`): DEPLOYDAY_BENCH_PG_URL, else a throwaway
    cluster like the test suite's, removed afterwards."""
    url = os.environ.get("DEPLOYDAY_BENCH_PG_URL")
    if url:
        yield url
        return
    pgbin = postgres_binaries()
    if pgbin is None:
        raise Missing(
            "PostgreSQL is not installed (apt-get install -y postgresql) "
            "and DEPLOYDAY_BENCH_PG_URL is not set"
        )
    with postgres_cluster(pgbin, "bench-pg") as admin_url:
        yield admin_url


async def fresh_database(admin_url: str) -> str:
    """A new empty database on the server of `admin_url`; returns its URL."""
    name = f"deployday_bench_{uuid.uuid4().hex[:10]}"
    async with await psycopg.AsyncConnection.connect(admin_url, autocommit=True) as conn:
        await conn.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


async def drop_database(admin_url: str, url: str) -> None:
    name = url.rsplit("/", 1)[1]
    async with await psycopg.AsyncConnection.connect(admin_url, autocommit=True) as conn:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def postgres_version(admin_url: str) -> str:
    async with await psycopg.AsyncConnection.connect(admin_url) as conn:
        cur = await conn.execute("SHOW server_version")
        row = await cur.fetchone()
    return str(row[0]) if row else "unknown"


def sqlite3_cli_version() -> str | None:
    binary = which("sqlite3")
    if binary is None:
        return None
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    return " ".join(out.stdout.split()[:2]) or None
