"""The command line as a newcomer uses it: check a config, upgrade a database, and run
commands in the console against the same database."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def deployday(
    *args: str, stdin: str | None = None, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "--log-level", "WARNING", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
        env=env,
        check=False,
    )


def test_check_config_accepts_the_example() -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "DEPLOYDAY_LIBERA_PASSWORD": "x",
        "DEPLOYDAY_SMTP_PASSWORD": "x",
        "DEPLOYDAY_MATRIX_PASSWORD": "x",
        "DEPLOYDAY_INTAKE_TOKEN": "x",
    }
    done = deployday("check-config", "-c", str(ROOT / "config.example.yaml"), cwd=ROOT, env=env)
    assert done.returncode == 0, done.stderr
    assert "OK — networks: libera (irc, 2 channels), fedora (matrix, 2 rooms)" in done.stdout


def test_check_config_explains_each_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "timezone: Nowhere/Land\nnetworks:\n  x:\n    kind: irc\n    host: h\n"
        "    nick: n\n    channels: ['#a']\n    password_env: NOT_SET_ANYWHERE\n"
    )
    done = deployday("check-config", "-c", str(bad))
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"{bad}: timezone: expected an IANA time zone like Europe/Prague, got 'Nowhere/Land'"
    ]
    bad.write_text(
        "networks:\n  x:\n    kind: irc\n    host: h\n    nick: n\n"
        "    channels: ['#a']\n    password_env: NOT_SET_ANYWHERE\n"
    )
    done = deployday("check-config", "-c", str(bad))
    assert done.returncode == 2
    assert done.stderr.splitlines()[0] == (
        f"{bad}: networks.x.password_env: environment variable NOT_SET_ANYWHERE is not set; "
        "export it before starting the bot"
    )


def test_db_upgrade_then_console_session(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("database: sqlite:///team.sqlite3\nconsole: {user: alice}\n")
    done = deployday("db", "upgrade", "-c", str(config))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "team.sqlite3").exists()  # relative to the config file

    script = "!deploy start pkgdb2 --api-break\nbreak koji builds fail\ntake 1\nfixed 1 ok\n"
    done = deployday("console", "-c", str(config), stdin=script)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[:3] == [
        "Deploy day: deploy pkgdb2 started by alice — API BREAK",
        "Firefighters: !checkin <team> to go on duty; report breakage with "
        "!break <service> <what broke>",
        "#1 opened: [sev3] koji: builds fail — !take 1 to own it",
    ]
    # real time passes in the console: only the shape of the durations is fixed
    assert re.fullmatch(
        r"#1 is now owned by alice \(acknowledged \d+s after the report\)", lines[3]
    )
    assert re.fullmatch(r"#1 koji fixed by alice after \d+s: ok", lines[4])
    assert len(lines) == 5
    done = deployday("console", "-c", str(config), stdin="incidents all\n")
    assert done.stdout.splitlines()[0] == "1 incident"
    with sqlite3.connect(tmp_path / "team.sqlite3") as db:
        assert db.execute("select number, service, status from incidents").fetchall() == [
            (1, "koji", "fixed")
        ]


def test_run_without_networks_says_what_to_do(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("database: sqlite:///x.sqlite3\n")
    done = deployday("run", "-c", str(config))
    assert done.returncode == 2
    assert "no networks configured" in done.stderr
