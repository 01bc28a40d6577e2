"""Config loading: the example is valid, and every mistake gets one line naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import (
    Config,
    ConfigError,
    MailConfig,
    engine_url,
)
from bot.config.networks import MatrixNetworkConfig
from bot.loading import load_config, plugin_sections

ROOT = Path(__file__).resolve().parents[2]


def problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    prefix = f"{path}: "
    assert all(p.startswith(str(path)) for p in err.value.problems)
    return [p.removeprefix(prefix) for p in err.value.problems]


def test_the_example_config_is_valid_and_complete() -> None:
    config = load_config(ROOT / "config.example.yaml")
    libera = config.networks["libera"]
    assert libera.channels == ("#fedora-admin", "#fedora-noc")
    assert config.timezone == "Europe/Prague" and config.prefix == "!"
    documented = (ROOT / "config.example.yaml").read_text()
    sections = plugin_sections(list(config.plugins))
    assert isinstance(sections, dict) and set(sections) == {
        "roster",
        "incidents",
        "metrics",
        "reminders",
        "digest",
        "export",
        "catalog",
        "plans",
        "intake",
    }
    for key in [
        *Config.model_fields,
        *type(libera).model_fields,
        *MatrixNetworkConfig.model_fields,
        "burst",
        "per_second",
        "min_delay",
        "max_delay",
        *MailConfig.model_fields,
        *sections,
        *(field for model in sections.values() for field in model.model_fields),
    ]:
        assert f"{key}:" in documented, f"{key} is not documented in config.example.yaml"


def test_the_example_matrix_network() -> None:
    fedora = load_config(ROOT / "config.example.yaml").networks["fedora"]
    assert isinstance(fedora, MatrixNetworkConfig)
    assert fedora.rooms == ("#infra:example.org", "#releng:example.org")
    assert fedora.password_env == "DEPLOYDAY_MATRIX_PASSWORD" and fedora.dm == "anyone"


@pytest.mark.parametrize(
    ("network", "expected"),
    [
        (
            "{kind: matrix, homeserver: m.org, user_id: '@a:b', password_env: P, rooms: ['#a:b']}",
            "networks.x.homeserver: expected a URL like https://matrix.example.org, got 'm.org'",
        ),
        (
            "{kind: matrix, homeserver: 'https://h', user_id: a, password_env: P, rooms: ['#a:b']}",
            "networks.x.user_id: expected a Matrix user ID like @deployday:example.org, got 'a'",
        ),
        (
            "{kind: matrix, homeserver: 'https://h', user_id: '@a:b', password_env: P, rooms: [a]}",
            "networks.x.rooms: expected room aliases (#room:server) or IDs (!id:server), got 'a'",
        ),
        (
            "{kind: matrix, homeserver: 'https://h', user_id: '@a:b', rooms: ['!r']}",
            "networks.x: set exactly one of password_env and access_token_env",
        ),
        (
            "{kind: matrix, homeserver: 'https://h', user_id: '@a:b', password_env: P, "
            "access_token_env: T, rooms: ['!r']}",
            "networks.x: set exactly one of password_env and access_token_env",
        ),
        (
            "{kind: matrix, homeserver: 'https://h', user_id: '@a:b', password_env: P, "
            "rooms: ['!r'], dm: [bob]}",
            "networks.x.dm: expected a Matrix user ID like @deployday:example.org, got 'bob'",
        ),
        (
            "{kind: matrix, homeserver: 'https://h', user_id: '@a:b', password_env: P, "
            "rooms: ['!r'], channels: ['#a']}",
            "networks.x.channels: unknown key",
        ),
        (
            "{kind: matrix, homeserver: 'https://h', user_id: '@a:b', password_env: P, "
            "rooms: ['!r'], romos: 1}",
            "networks.x.romos: unknown key (did you mean 'rooms'?)",
        ),
        (
            "{kind: matrix, homeserver: 'https://h', user_id: '@a:b', password_env: P, "
            "rooms: ['!r'], encryption: true}",
            "networks.x: encryption: true needs a fixed device_id (one device, one key store)",
        ),
        (
            "{kind: matrix, homeserver: 'https://h', user_id: '@a:b', password_env: P, "
            "rooms: ['!r'], blocked_devices: {'@m:b': [PHONE]}}",
            "networks.x: share_keys_with, trusted_devices and blocked_devices need "
            "encryption: true",
        ),
        (
            "{kind: matrix, homeserver: 'https://h', user_id: '@a:b', password_env: P, "
            "rooms: ['!r'], encryption: true, device_id: D, trusted_devices: {'@c:b': ['A B']}}",
            "networks.x.trusted_devices: expected device IDs like ABCDEFGHIJ, got 'A B'",
        ),
        (
            "{kind: matrix, homeserver: 'https://h', user_id: '@a:b', password_env: P, "
            "rooms: ['!r'], encryption: true, device_id: D, share_keys_with: some}",
            "networks.x.share_keys_with: expected 'all' or 'verified' (got 'some')",
        ),
    ],
)
def test_matrix_network_problems(tmp_path: Path, network: str, expected: str) -> None:
    assert problems(tmp_path, f"networks: {{x: {network}}}\n") == [expected]


def test_no_config_means_working_defaults() -> None:
    config = load_config(None)
    assert config.networks == {} and config.teams == ("infra", "releng", "docs", "qa")


def test_each_problem_names_its_key(tmp_path: Path) -> None:
    got = problems(
        tmp_path,
        """
timezone: Mars/Olympus
prefixx: "!"
teams: [infra, Releng]
networks:
  libera:
    kind: irc
    host: irc.libera.chat
    prot: 6697
    nick: "9bad"
    channels: ["fedora"]
  other:
    kind: slack
  third:
    host: a
""",
    )
    assert sorted(got) == sorted(
        [
            "timezone: expected an IANA time zone like Europe/Prague, got 'Mars/Olympus'",
            "teams: expected lowercase team names like 'infra', got 'Releng'",
            "networks.libera.nick: expected an IRC nick (letters, digits, -[]\\`_^{|}, max 30), "
            "got '9bad'",
            "networks.libera.channels: expected channel names starting with '#', got 'fedora'",
            "networks.libera.prot: unknown key (did you mean 'port'?)",
            "networks.other.kind: expected one of 'irc', 'matrix', got 'slack'",
            "networks.third.kind: required key is missing (say which network kind, e.g. irc)",
            "prefixx: unknown key (did you mean 'prefix'?)",
        ]
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "config is empty; see config.example.yaml"),
        ("- a\n- b\n", "expected a mapping of keys at the top level"),
        (
            "networks: {x: {kind: irc, host: h, nick: n}}\n",
            "networks.x.channels: required key is missing",
        ),
        (
            "networks: {x: {kind: irc, host: h, nick: n, channels: ['#a'], port: 70000}}\n",
            "networks.x.port: expected 65535 or less (got 70000)",
        ),
        (
            "networks: {x: {kind: irc, host: h, nick: n, channels: ['#a'], sasl_username: u}}\n",
            "networks.x: sasl_username is set but password_env is not",
        ),
        (
            "networks: {x: {kind: irc, host: h, nick: n, channels: ['#a'], password_env: 'a b'}}\n",
            "networks.x.password_env: expected an environment variable name like "
            "DEPLOYDAY_PASSWORD, got 'a b'",
        ),
        (
            "prefix: 'a'\n",
            "prefix: expected punctuation such as '!' (no letters or spaces), got 'a'",
        ),
    ],
)
def test_single_problems(tmp_path: Path, text: str, expected: str) -> None:
    assert problems(tmp_path, text) == [expected]


def test_yaml_syntax_errors_point_at_the_line(tmp_path: Path) -> None:
    [problem] = problems(tmp_path, "teams: [infra\nprefix: '!'\n")
    assert problem.startswith("YAML syntax error") or ":" in problem.split(" ")[0]


def test_unreadable_file() -> None:
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config("/nonexistent/deployday.yaml")


def test_secrets_come_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "networks: {x: {kind: irc, host: h, nick: n, channels: ['#a'], "
        "password_env: DD_TEST_SECRET}}\n"
    )
    monkeypatch.delenv("DD_TEST_SECRET", raising=False)
    config = load_config(path)
    assert config.missing_secrets() == [
        "networks.x.password_env: environment variable DD_TEST_SECRET is not set; export it "
        "before starting the bot"
    ]
    monkeypatch.setenv("DD_TEST_SECRET", "s3cret")
    assert config.missing_secrets() == []


def test_database_urls_get_the_store_drivers_and_config_relative_paths(tmp_path: Path) -> None:
    assert engine_url("sqlite:///db.sqlite3", tmp_path) == f"sqlite:///{tmp_path / 'db.sqlite3'}"
    assert engine_url("sqlite:////abs/db", tmp_path) == "sqlite:////abs/db"
    assert engine_url("postgresql://u@h/db", tmp_path) == "postgresql+psycopg://u@h/db"
    assert engine_url("postgresql+asyncpg://u@h/db", tmp_path) == "postgresql+psycopg://u@h/db"
    assert engine_url("postgresql+psycopg://u@h/db", tmp_path) == "postgresql+psycopg://u@h/db"


def test_plugin_sections_are_validated_with_the_config(tmp_path: Path) -> None:
    assert problems(tmp_path, "incidents: {max_summary_chars: 5, colour: red}\n") == [
        "incidents.max_summary_chars: expected 20 or more (got 5)",
        "incidents.colour: unknown key",
    ]
    assert problems(tmp_path, "incidentz: {}\n") == [
        "incidentz: unknown key (did you mean 'incidents'?)"
    ]
    assert problems(tmp_path, "plugins: [no.such.plugin]\n") == [
        "plugins: plugin 'no.such.plugin' cannot be imported: No module named 'no'"
    ]
    path = tmp_path / "ok.yaml"
    path.write_text("roster: {self_checkin: true}\n")
    from plugins.incidents.settings import IncidentSettings
    from plugins.roster.settings import RosterSettings

    config = load_config(path)
    assert config.section("roster", RosterSettings).self_checkin is True
    assert config.section("incidents", IncidentSettings).list_limit == 15
    # without the roster plugin, its section is an unknown key
    path.write_text("plugins: [plugins.incidents]\nroster: {self_checkin: true}\n")
    with pytest.raises(ConfigError, match="roster: unknown key"):
        load_config(path)


_NETS = (
    "networks: {libera: {kind: irc, host: h, nick: n, channels: ['#a']}, "
    "fedora: {kind: matrix, homeserver: 'https://h', user_id: '@d:h', password_env: P, "
    "rooms: ['!r']}}\n"
)


@pytest.mark.parametrize(
    ("admins", "expected"),
    [
        (
            "[alice]",
            "admins[0]: an admin must be named with their network: write alice@NETWORK (a "
            "services account there, or a nick where that network says identify_by: nick) or a "
            "Matrix user ID like @alice:example.org; got 'alice'",
        ),
        (
            "[alice@oftc]",
            "admins[0]: 'alice@oftc' names no configured network (networks: libera, fedora)",
        ),
        (
            "[ok@libera, alice@fedora]",
            "admins[1]: fedora is a Matrix network; name the admin there by user ID, like "
            "@alice:example.org",
        ),
        (
            "['~alice@libera']",
            "admins[0]: expected an account or nick and a network like alice@libera, "
            "got '~alice@libera'",
        ),
        (
            "['@Alice']",
            "admins[0]: expected a Matrix user ID like @alice:example.org, got '@Alice'",
        ),
    ],
)
def test_admins_are_named_with_their_network(tmp_path: Path, admins: str, expected: str) -> None:
    assert problems(tmp_path, f"admins: {admins}\n{_NETS}") == [expected]


def test_qualified_admins_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(f"admins: ['[alice]@libera', '@alice:example.org']\n{_NETS}")
    assert load_config(path).admins == ("[alice]@libera", "@alice:example.org")
