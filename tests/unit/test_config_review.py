"""What check-config and run find beyond each key's own validity (issue 13, items 1, 2
and 8): rooms that plugins name are rooms the bot joins, the database can be opened,
features that mail have a server, someone is an admin; and plain words for pydantic's."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError
from bot.config.review import review
from bot.loading import build_config, load_config

IRC = {
    "kind": "irc",
    "host": "irc.example.org",
    "nick": "deployday",
    "channels": ["#deploy", "#Ops[1]"],
    "identify_by": "account",
}
MATRIX = {
    "kind": "matrix",
    "homeserver": "https://matrix.example.org",
    "user_id": "@deployday:example.org",
    "access_token_env": "HOME",
    "rooms": ["#infra:example.org"],
}


def reviewed(tmp_path: Path, **raw: object) -> tuple[list[str], list[str]]:
    raw = {"database": "sqlite:///d.sqlite3", "admins": ["alice"], **raw}
    raw.setdefault("networks", {"libera": IRC, "fedora": MATRIX})
    found = review(build_config(raw, base_dir=tmp_path))
    return found.errors, found.warnings


def test_reminder_rooms_must_be_joined_channels_of_existing_networks(tmp_path: Path) -> None:
    errors, _ = reviewed(tmp_path, reminders={"rooms": {"libera": ["#fedora-noc"]}})
    assert errors == [
        "reminders.rooms.libera: #fedora-noc not in networks.libera.channels (#deploy, "
        "#Ops[1]); the bot posts only where it joined, so add it there or name one of those"
    ]
    errors, _ = reviewed(tmp_path, reminders={"summary_rooms": {"liberra": ["#deploy"]}})
    assert errors == [
        "reminders.summary_rooms.liberra: no network named 'liberra'; did you mean "
        "'libera'? networks: libera, fedora"
    ]
    errors, _ = reviewed(tmp_path, digest={"rooms": {"fedora": ["#releng:example.org"]}})
    assert errors == [
        "digest.rooms.fedora: #releng:example.org not in networks.fedora.rooms "
        "(#infra:example.org); the bot posts only where it joined, so add it there or name "
        "one of those"
    ]


def test_channel_names_compare_as_irc_does(tmp_path: Path) -> None:
    rooms = {"libera": ["#DEPLOY", "#ops{1}"], "fedora": ["#infra:example.org"]}
    errors, _ = reviewed(tmp_path, reminders={"rooms": rooms})
    assert errors == []


@pytest.mark.parametrize(
    ("database", "expected"),
    [
        ("deployday.sqlite3", "'deployday.sqlite3'"),
        ("mysql://deployday@db/deployday", "'mysql://deployday@db/deployday'"),
    ],
)
def test_database_urls_the_bot_cannot_open_are_config_problems(
    tmp_path: Path, database: str, expected: str
) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(f"database: {database}\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert err.value.problems == [
        f"{path}: database: expected sqlite:///FILE (relative to this file) or "
        f"postgresql://user@host/dbname, got {expected}"
    ]


def test_the_sqlite_directory_must_exist(tmp_path: Path) -> None:
    errors, _ = reviewed(tmp_path, database="sqlite:////nonexistent/dir/x.sqlite3")
    assert errors == [
        "database: directory /nonexistent/dir does not exist; create it or point "
        "`database:` elsewhere"
    ]
    assert reviewed(tmp_path, database="sqlite:///sub/../d.sqlite3")[0] == []


def test_warnings_run_would_log(tmp_path: Path) -> None:
    net = {**IRC, "identify_by": "nick"}
    _, warnings = reviewed(
        tmp_path,
        admins=[],
        networks={"libera": net},
        digest={"mail_to": ["infra@example.org"]},
        plans={"api_break_mail_to": ["devel@example.org"]},
        reminders={"service_teams": {"pkgdb": "nosuchteam"}},
    )
    assert warnings == [
        "reminders.service_teams names teams not in `teams:` (nosuchteam); nobody can "
        "check in for them, so their pages reach no one on duty",
        "digest.mail_to is set but there is no `mail:` section: nothing will be mailed; "
        "add `mail:` (see config.example.yaml) or remove this key",
        "plans.api_break_mail_to is set but there is no `mail:` section: nothing will be "
        "mailed; add `mail:` (see config.example.yaml) or remove this key",
        "admins is empty: nobody can start a deploy or manage the roster; list your IRC "
        'account (or nick) and Matrix ID, e.g. admins: [alice, "@alice:example.org"]',
        "networks.libera.identify_by: nick: people are identified by nick; anyone can "
        'take a free nick, admins\' included (README, "Identity")',
    ]


def test_room_power_levels_count_as_admins(tmp_path: Path) -> None:
    power = {**MATRIX, "admin_power_level": 50}
    _, warnings = reviewed(tmp_path, admins=[], networks={"fedora": power})
    assert warnings == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("admins: alice\n", "admins: expected a list, like [a, b] (got 'alice')"),
        (
            "coordination: {lease: maybe}\n",
            "coordination.lease: expected 'auto' or true or false (got 'maybe')",
        ),
        (
            "roster: {self_checkin: perhaps}\n",
            "roster.self_checkin: expected true or false (got 'perhaps')",
        ),
        ("prefix: ''\n", "prefix: expected at least one character (got '')"),
    ],
)
def test_plain_words_instead_of_pydantic_jargon(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert err.value.problems == [f"{path}: {expected}"]
