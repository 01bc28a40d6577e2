"""The servers a benchmark talks to: ngircd with the flood penalty off, and a throwaway
PostgreSQL cluster (or the one DEPLOYDAY_BENCH_PG_URL names). Started like the test
suite starts them (tests/servers), stopped by PID."""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import asyncpg

from tests.servers.ircd import NGIRCD_CONF
from tests.servers.support import IS_ROOT, Server, as_user, free_port, server_dir, tcp_open, which

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


def _pg_bin() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return os.path.dirname(found[-1]) if found else None


@contextmanager
def postgres() -> Iterator[str]:
    """An admin URL (`postgresql://…/postgres`): DEPLOYDAY_BENCH_PG_URL, else a throwaway
    cluster (fsync off, as in the test suite) that is removed afterwards."""
    url = os.environ.get("DEPLOYDAY_BENCH_PG_URL")
    if url:
        yield url
        return
    pgbin = _pg_bin()
    if pgbin is None:
        raise Missing(
            "PostgreSQL is not installed (apt-get install -y postgresql) "
            "and DEPLOYDAY_BENCH_PG_URL is not set"
        )
    d = server_dir("bench-pg")
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
        probe = [f"{pgbin}/pg_isready", "-q", "-h", HOST, "-p", str(port)]
        return subprocess.run(probe, check=False).returncode == 0

    settings = [
        f"listen_addresses={HOST}",
        f"unix_socket_directories={d}",
        "fsync=off",
        "synchronous_commit=off",
        "full_page_writes=off",
    ]
    cmd = [f"{pgbin}/postgres", "-D", f"{d}/data", "-p", str(port)]
    for setting in settings:
        cmd += ["-c", setting]
    server = Server(
        as_user("postgres", cmd), d / "pg.log", ready, stop_signal=signal.SIGINT
    ).start()
    try:
        yield f"postgresql://postgres@{HOST}:{port}/postgres"
    finally:
        server.stop()
        shutil.rmtree(d, ignore_errors=True)


async def fresh_database(admin_url: str) -> str:
    """A new empty database on the server of `admin_url`; returns its URL."""
    name = f"deployday_bench_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


async def drop_database(admin_url: str, url: str) -> None:
    name = url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def postgres_version(admin_url: str) -> str:
    conn = await asyncpg.connect(admin_url)
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


def sqlite3_cli_version() -> str | None:
    binary = which("sqlite3")
    if binary is None:
        return None
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    return " ".join(out.stdout.split()[:2]) or None
