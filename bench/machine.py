"""What the figures were measured on."""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from bench.servers import ngircd_version, sqlite3_cli_version

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("SQLAlchemy", "psycopg", "irc", "pydantic")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def _package(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], capture_output=True, text=True, cwd=ROOT, check=False)
    return done.stdout.strip()


def describe(postgres: str | None) -> dict[str, Any]:
    """CPU, cores, memory, OS, Python, SQLite (library and CLI), PostgreSQL, ngircd,
    the main libraries and the commit; `postgres` is the server version if one ran."""
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)),
        "memory_gib": _memory_gib(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "sqlite3_cli": sqlite3_cli_version(),
        "postgresql": postgres,
        "ngircd": ngircd_version(),
        "packages": {name: _package(name) for name in PACKAGES},
        "commit": _git("rev-parse", "--short", "HEAD") or None,
        "dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
    }


def summary(info: dict[str, Any]) -> str:
    """One line for the top of the table."""
    return (
        f"{info['cpu']}, {info['cores']} cores, {info['memory_gib']} GiB; "
        f"Python {info['python']}; SQLite {info['sqlite']}; "
        f"PostgreSQL {info['postgresql'] or '-'}; {info['ngircd'] or 'no ngircd'}; "
        f"commit {info['commit']}{' (dirty)' if info['dirty'] else ''}"
    )
