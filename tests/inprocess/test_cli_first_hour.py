"""A new team's first hour on the command line (issue 13, items 2, 7, 8 and 14): install
checks, `init`, `check-config` as the whole truth, options anywhere, exit status 0/1/2,
one line instead of a traceback."""

from __future__ import annotations

import logging
import os
import pty
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.cli import main

ROOT = Path(__file__).resolve().parents[2]
CLEAN_ENV = {"PATH": os.environ["PATH"], "LOGNAME": "alice"}


@dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def deployday(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., Done]:
    """`deployday ARGS` in this process (`bot.cli.main`), in `cwd`, with `env` added to
    an environment that has no config or secrets of its own."""
    monkeypatch.delenv("DEPLOYDAY_CONFIG", raising=False)
    monkeypatch.setenv("LOGNAME", "alice")

    def run(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> Done:
        with monkeypatch.context() as m:
            if cwd is not None:
                m.chdir(cwd)
            for key, value in (env or {}).items():
                m.setenv(key, value)
            capsys.readouterr()
            try:
                status = main(list(args))
            except SystemExit as exc:  # argparse's own exits: --version, usage errors
                status = int(exc.code or 0)
            finally:
                _forget_log_handler()
            out, err = capsys.readouterr()
        return Done(status, out, err)

    return run


def _forget_log_handler() -> None:
    """The handler main installed writes to this test's capture, which is closed next."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == "deployday"]:
        root.removeHandler(handler)
    root.setLevel(logging.WARNING)


def subprocess_deployday(*args: str) -> subprocess.CompletedProcess[str]:
    """For what only a separate process shows: its own stdout pipe, its exit."""
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        capture_output=True,
        text=True,
        env=CLEAN_ENV,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def one_line(done: Done | subprocess.CompletedProcess[str]) -> str:
    """The whole of stderr, which must be exactly one line (never a traceback)."""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


def test_version(deployday: Callable[..., Done]) -> None:
    done = deployday("--version")
    assert done.returncode == 0
    assert done.stdout.startswith("deployday ")


def test_init_writes_a_starter_that_passes_check_config(
    tmp_path: Path, deployday: Callable[..., Done]
) -> None:
    config = tmp_path / "config.yaml"
    done = deployday(
        "init", "-o", str(config), "--server", "irc.libera.chat", "--channel", "#deploy",
        "--admin", "alice",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == f"wrote {config}"
    text = config.read_text()
    assert "host: irc.libera.chat\n    port: 6697\n    tls: true" in text
    assert 'channels: ["#deploy"]' in text and 'admins: ["alice@libera"]' in text
    assert "# sasl_username: deployday" in text  # a login is explained, not required
    done = deployday("check-config", "-c", str(config))
    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        f"{config}: OK — networks: libera (irc, 1 channel); database: "
        "sqlite:///deployday.sqlite3; timezone: UTC; admins: 1\n"
    )
    assert not (tmp_path / "deployday.sqlite3").exists()  # checking creates nothing
    # a second init does not overwrite; without a terminal, missing answers are named
    assert deployday("init", "-o", str(config), "--server", "x").returncode == 2
    done = deployday("init", "-o", str(tmp_path / "other.yaml"))
    assert done.returncode == 2
    assert one_line(done).startswith("deployday: init: --server, --channel, --admin needed")


def test_init_with_a_login_and_a_local_server(
    tmp_path: Path, deployday: Callable[..., Done]
) -> None:
    config = tmp_path / "local.yaml"
    done = deployday(
        "init", "-o", str(config), "--server", "localhost:6667", "--channel", "#ops",
        "--admin", "bob", "--nick", "opsbot", "--account", "opsbot",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    text = config.read_text()
    assert "  localhost:" in text and "port: 6667\n    tls: false" in text
    assert "password_env: DEPLOYDAY_LOCALHOST_PASSWORD" in text
    done = deployday("check-config", "-c", str(config))
    assert done.returncode == 2
    assert "DEPLOYDAY_LOCALHOST_PASSWORD is not set" in done.stderr
    done = deployday("check-config", "-c", str(config), env={"DEPLOYDAY_LOCALHOST_PASSWORD": "pw"})
    assert done.returncode == 0, done.stderr
    bad = deployday("init", "-o", str(tmp_path / "bad.yaml"), "--server", "h", "--channel",
                    "deploy", "--admin", "bob")  # fmt: skip
    assert bad.returncode == 2
    assert "expected channel names starting with '#'" in one_line(bad)
    assert not (tmp_path / "bad.yaml").exists()


def test_init_example_writes_the_documented_reference(
    tmp_path: Path, deployday: Callable[..., Done]
) -> None:
    out = tmp_path / "example.yaml"
    assert deployday("init", "--example", "-o", str(out)).returncode == 0
    assert out.read_text() == (ROOT / "config.example.yaml").read_text()


def one_network(tmp_path: Path, more: str) -> Path:
    """A config with one IRC network, #deploy, people known by account; and `more`."""
    config = tmp_path / "config.yaml"
    config.write_text(
        "networks:\n  libera: {kind: irc, host: h, nick: bot, channels: ['#deploy'],"
        f" identify_by: account}}\n{more}\n"
    )
    return config


def test_check_config_finds_what_run_would_refuse(
    tmp_path: Path, deployday: Callable[..., Done]
) -> None:
    config = one_network(
        tmp_path,
        "admins: [alice@libera]\nreminders: {enabled: true, rooms: {libera: ['#fedora-noc']}}",
    )
    done = deployday("check-config", "-c", str(config))
    assert done.returncode == 2
    assert one_line(done) == (
        f"{config}: reminders.rooms.libera: #fedora-noc not in networks.libera.channels "
        "(#deploy); the bot posts only where it joined, so add it there or name one of those"
    )
    done = deployday("run", "-c", str(config))
    assert done.returncode == 2
    assert one_line(done) == done.stderr.strip()


def test_check_config_warns_about_what_run_would_warn_about(
    tmp_path: Path, deployday: Callable[..., Done]
) -> None:
    config = one_network(tmp_path, "admins: []\ndigest: {mail_to: [infra@example.org]}")
    done = deployday("check-config", "-c", str(config))
    assert done.returncode == 0
    warnings = done.stderr.splitlines()
    assert [w.split(": ", 3)[2] for w in warnings] == [
        "digest.mail_to is set but there is no `mail:` section",
        "admins is empty",
    ]


@pytest.mark.parametrize(
    ("database", "status", "message"),
    [
        ("deployday.sqlite3", 2, "database: expected sqlite:///FILE"),
        ("mysql://deployday@db/deployday", 2, "database: expected sqlite:///FILE"),
        (
            "sqlite:////nonexistent/dir/x.sqlite3",
            1,
            "deployday: cannot open the database sqlite:////nonexistent/dir/x.sqlite3: "
            "unable to open database file; directory /nonexistent/dir does not exist",
        ),
        (
            "postgresql://postgres@127.0.0.1:9/postgres",
            1,
            "deployday: cannot open the database postgresql://postgres@127.0.0.1:9/postgres: "
            "connection refused; is PostgreSQL running and listening there?",
        ),
    ],
)
def test_a_database_that_cannot_be_opened_is_one_line(
    tmp_path: Path, database: str, status: int, message: str, deployday: Callable[..., Done]
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"database: {database}\n")
    done = deployday("db", "upgrade", "-c", str(config))
    assert done.returncode == status
    assert message in one_line(done)


def test_demo_with_a_database_in_a_missing_directory() -> None:
    done = subprocess_deployday("demo", "--db", "/nonexistent/dir/demo.sqlite3")
    assert done.returncode == 1
    assert one_line(done).startswith("deployday: cannot open the database sqlite:////nonexistent")


def test_the_demo_greets_a_newcomer_without_warnings(tmp_path: Path) -> None:
    """Its embedded server identifies people by nick on purpose: the warning a real config
    gets for that is not said in the demo (errors still are)."""
    done = subprocess_deployday("demo", "--db", str(tmp_path / "demo.sqlite3"))
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert "Deploy day over" in done.stdout


def test_options_after_the_subcommand_and_no_silent_database(
    tmp_path: Path, deployday: Callable[..., Done]
) -> None:
    config = tmp_path / "team.yaml"
    config.write_text("database: sqlite:///team.sqlite3\n")
    done = deployday("plan", "list", "-c", str(config), "--log-level", "DEBUG", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        "no deploy is planned; plan one with: deployday plan add NAME WHEN [--api-break]\n"
    )
    assert "DEBUG" in done.stderr
    done = deployday("plan", "list", "-c", str(config), "--log-file", "/nonexistent/x.log")
    assert done.returncode == 2
    assert one_line(done) == (
        "deployday: --log-file: cannot write /nonexistent/x.log: no such file or directory"
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = deployday("plan", "list", cwd=elsewhere)
    assert done.returncode == 2
    assert one_line(done) == (
        "deployday: plan: which config? give -c FILE (or set DEPLOYDAY_CONFIG); "
        "`deployday init` writes one"
    )
    assert list(elsewhere.iterdir()) == []
    done = deployday("plan", "list", cwd=elsewhere, env={"DEPLOYDAY_CONFIG": str(config)})
    assert done.returncode == 0
    assert f"config {config} (from DEPLOYDAY_CONFIG)" in done.stderr
    assert list(elsewhere.iterdir()) == []


def test_a_reader_that_goes_away_ends_the_export_quietly(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("database: sqlite:///x.sqlite3\n")
    script = "".join(f"!break svc{i} broken number {i}\n" for i in range(3))
    setup = subprocess.run(
        [sys.executable, "-m", "bot.cli", "console", "-c", str(config)],
        input=script, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert "#3 opened" in setup.stdout
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "export", "--format", "jsonl", "-o", "-", "-c",
         str(config)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**CLEAN_ENV},
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # as `| head -0` would: every write finds the pipe closed
    assert proc.wait(timeout=60) == 1
    assert proc.stderr.read() == b""


def test_init_asks_on_a_terminal(tmp_path: Path) -> None:
    """The questions, answered on a real pseudo-terminal; Enter takes the default."""
    leader, follower = pty.openpty()
    config = tmp_path / "config.yaml"
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "init", "-o", str(config)],
        stdin=follower, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=CLEAN_ENV,
    )  # fmt: skip
    os.close(follower)
    try:
        os.write(leader, b"irc.example.org:6697\n#deploy\n\nalice\n")
        out, err = proc.communicate(timeout=60)
    finally:
        os.close(leader)
    assert proc.returncode == 0, err
    asked = out.decode().splitlines()[-3]  # the prompts, then what it did
    assert asked == (
        "IRC server (host or host:port) [irc.libera.chat]: channel to join [#deploy]: "
        "the bot's nick [deployday]: your services account, or your nick on a server without "
        f"services (you become an admin): wrote {config}"
    )
    text = config.read_text()
    assert "host: irc.example.org\n    port: 6697\n    tls: true\n    nick: deployday" in text
    assert 'admins: ["alice@example"]' in text and 'channels: ["#deploy"]' in text
