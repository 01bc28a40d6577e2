"""Load the YAML config and validate it into typed objects.

Every problem is reported as one line naming the file, the key path and what was expected,
so `deployday check-config` can list them all at once.
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

BUILTIN_PLUGINS = (
    "plugins.deploys",
    "plugins.roster",
    "plugins.incidents",
    "plugins.metrics",
    "plugins.reminders",
    "plugins.digest",
    "plugins.export",
    "plugins.catalog",
    "plugins.plans",
)

_NICK = re.compile(r"^[A-Za-z\[\]\\`_^{|}][A-Za-z0-9\[\]\\`_^{|}-]{0,29}$")
_TEAM = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ConfigError(Exception):
    """One or more problems, each a one-line message."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class StrictModel(BaseModel):
    """Unknown keys are errors (typos must not pass silently); values are read-only."""

    model_config = ConfigDict(extra="forbid", frozen=True)


_Strict = StrictModel
S = TypeVar("S", bound=BaseModel)


def _env_name(value: str | None) -> str | None:
    if value is not None and not _ENV.match(value):
        raise ValueError(
            f"expected an environment variable name like DEPLOYDAY_PASSWORD, got {value!r}"
        )
    return value


class FloodConfig(_Strict):
    """Outgoing token bucket: `burst` lines at once, then `per_second` lines each second."""

    burst: int = Field(4, ge=1, le=100_000)
    per_second: float = Field(1.0, gt=0, le=1_000_000)


class ReconnectConfig(_Strict):
    min_delay: float = Field(1.0, gt=0, le=3600)
    max_delay: float = Field(60.0, gt=0, le=3600)

    @model_validator(mode="after")
    def _ordered(self) -> ReconnectConfig:
        if self.max_delay < self.min_delay:
            raise ValueError("max_delay must not be smaller than min_delay")
        return self


class IrcNetworkConfig(_Strict):
    kind: Literal["irc"]
    host: str = Field(min_length=1)
    port: int = Field(6697, ge=1, le=65535)
    tls: bool = True
    tls_verify: bool = True
    nick: str
    alt_nicks: tuple[str, ...] = ()
    username: str | None = None
    realname: str = "deployday incident bot"
    channels: tuple[str, ...] = Field(min_length=1)
    announce: bool = True
    sasl_username: str | None = None
    password_env: str | None = None
    identify_by: Literal["auto", "account", "nick"] = "auto"
    flood: FloodConfig = FloodConfig()
    reconnect: ReconnectConfig = ReconnectConfig()
    ping_interval: float = Field(60.0, gt=0, le=3600)
    ping_timeout: float = Field(120.0, gt=0, le=7200)
    max_reply_lines: int = Field(10, ge=1, le=200)

    _check_env = field_validator("password_env")(_env_name)

    @field_validator("nick")
    @classmethod
    def _nick(cls, v: str) -> str:
        if not _NICK.match(v):
            raise ValueError(
                f"expected an IRC nick (letters, digits, -[]\\`_^{{|}}, max 30), got {v!r}"
            )
        return v

    @field_validator("alt_nicks")
    @classmethod
    def _alt_nicks(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for n in v:
            cls._nick(n)
        return v

    @field_validator("channels")
    @classmethod
    def _channels(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for ch in v:
            if not ch or ch[0] not in "#&+!" or any(c in ch for c in " ,\x07\r\n\0"):
                raise ValueError(f"expected channel names starting with '#', got {ch!r}")
        return v

    @model_validator(mode="after")
    def _sasl_needs_password(self) -> IrcNetworkConfig:
        if self.sasl_username and not self.password_env:
            raise ValueError("sasl_username is set but password_env is not")
        return self


_MATRIX_USER = re.compile(r"^@[a-z0-9._=/+-]+:[A-Za-z0-9.:\[\]-]+$")
_MATRIX_ROOM = re.compile(r"^(![^\s]+|#[^:\s]+:[A-Za-z0-9.:\[\]-]+)$")


class MatrixNetworkConfig(_Strict):
    """A Matrix account on one homeserver; see README, "Matrix"."""

    kind: Literal["matrix"]
    homeserver: str
    user_id: str
    password_env: str | None = None
    access_token_env: str | None = None
    device_name: str = Field("deployday", min_length=1, max_length=100)
    device_id: str | None = Field(None, pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    rooms: tuple[str, ...] = Field(min_length=1)
    announce: bool = True
    command_max_age: float = Field(300.0, ge=0, le=7 * 24 * 3600)
    admin_power_level: int | None = Field(None, ge=1)
    dm: Literal["anyone", "nobody"] | tuple[str, ...] = "anyone"
    encryption: bool = False
    store_path: str = "matrix-store"
    sync_timeout: float = Field(30.0, gt=0, le=300)
    reconnect: ReconnectConfig = ReconnectConfig()

    _check_env = field_validator("password_env", "access_token_env")(_env_name)

    @field_validator("homeserver")
    @classmethod
    def _homeserver(cls, v: str) -> str:
        if not re.match(r"^https?://[^/\s]+(/\S*)?$", v):
            raise ValueError(f"expected a URL like https://matrix.example.org, got {v!r}")
        return v.rstrip("/")

    @field_validator("user_id")
    @classmethod
    def _user_id(cls, v: str) -> str:
        if not _MATRIX_USER.match(v):
            raise ValueError(f"expected a Matrix user ID like @deployday:example.org, got {v!r}")
        return v

    @field_validator("rooms")
    @classmethod
    def _rooms(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for room in v:
            if not _MATRIX_ROOM.match(room):
                raise ValueError(
                    f"expected room aliases (#room:server) or IDs (!id:server), got {room!r}"
                )
        return v

    @field_validator("dm")
    @classmethod
    def _dm(cls, v: str | tuple[str, ...]) -> str | tuple[str, ...]:
        if isinstance(v, tuple):
            for user in v:
                cls._user_id(user)
        return v

    @model_validator(mode="after")
    def _one_secret(self) -> MatrixNetworkConfig:
        if bool(self.password_env) == bool(self.access_token_env):
            raise ValueError("set exactly one of password_env and access_token_env")
        return self


NetworkConfig = Annotated[IrcNetworkConfig | MatrixNetworkConfig, Field(discriminator="kind")]
_NETWORK_MODELS: dict[str, type[BaseModel]] = {
    "irc": IrcNetworkConfig,
    "matrix": MatrixNetworkConfig,
}


class CoordinationConfig(_Strict):
    """Instances sharing a database: scheduled jobs, and each network, are served by one
    instance at a time, the holder of a lease in the database."""

    lease: Literal["auto"] | bool = "auto"  # auto: on with PostgreSQL
    lease_seconds: float = Field(30.0, ge=3, le=3600)


class RateLimitConfig(_Strict):
    """Per person: `burst` commands at once, then `per_minute` a minute."""

    burst: int = Field(8, ge=1, le=1000)
    per_minute: float = Field(30.0, gt=0, le=6000)


class ConsoleConfig(_Strict):
    user: str = Field("console", min_length=1)


class MailConfig(_Strict):
    """An SMTP server the bot may send mail through (bot.mail); who gets what is up to
    the plugins that send it."""

    host: str = Field(min_length=1)
    port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password_env: str | None = None
    from_address: str
    timeout: float = Field(30.0, gt=0, le=600)

    _check_env = field_validator("password_env")(_env_name)

    @field_validator("from_address")
    @classmethod
    def _address(cls, v: str) -> str:
        if not re.match(r"^[^@\s<>,]+@[^@\s<>,]+$", v):
            raise ValueError(f"expected a mail address like deployday@example.org, got {v!r}")
        return v

    @model_validator(mode="after")
    def _login_needs_password(self) -> MailConfig:
        if self.username and not self.password_env:
            raise ValueError("username is set but password_env is not")
        return self


class Config(_Strict):
    database: str = "sqlite:///deployday.sqlite3"
    auto_migrate: bool = True
    timezone: str = "UTC"
    prefix: str = Field("!", min_length=1, max_length=3)
    admins: tuple[str, ...] = ()
    teams: tuple[str, ...] = Field(("infra", "releng", "docs", "qa"), min_length=1)
    console: ConsoleConfig = ConsoleConfig()
    mail: MailConfig | None = None
    coordination: CoordinationConfig = CoordinationConfig()
    rate_limit: RateLimitConfig = RateLimitConfig()
    plugins: tuple[str, ...] = BUILTIN_PLUGINS
    networks: dict[str, NetworkConfig] = Field(default_factory=dict)
    _base_dir: Path = PrivateAttr(default_factory=Path.cwd)
    _sections: dict[str, BaseModel] = PrivateAttr(default_factory=dict)

    @classmethod
    def build(cls, raw: dict[str, Any], base_dir: Path | None = None) -> Config:
        """Validate the core keys and, for each enabled plugin that has settings, its
        section. Raises ConfigError with one `key.path: problem` line per problem."""
        sections = plugin_sections(raw.get("plugins", BUILTIN_PLUGINS))
        if isinstance(sections, str):
            raise ConfigError([f"plugins: {sections}"])
        core = {k: v for k, v in raw.items() if k not in sections}
        problems: list[str] = []
        try:
            config = cls.model_validate(core)
        except ValidationError as exc:
            problems += [_problem(e, cls, list(sections)) for e in exc.errors(include_url=False)]
        parsed: dict[str, BaseModel] = {}
        for key, model in sections.items():
            try:
                parsed[key] = model.model_validate(raw.get(key) or {})
            except ValidationError as exc:
                problems += [
                    _problem({**e, "loc": (key, *e["loc"])}, None)
                    for e in exc.errors(include_url=False)
                ]
        if problems:
            raise ConfigError(problems)
        config._sections = parsed
        if base_dir is not None:
            config._base_dir = base_dir
        return config

    def section(self, key: str, model: type[S]) -> S:
        """A plugin's settings: what the config file said under `key`, or the defaults."""
        value = self._sections.get(key)
        return value if isinstance(value, model) else model()

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"expected an IANA time zone like Europe/Prague, got {v!r}") from None
        return v

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, v: str) -> str:
        if any(c.isspace() or c.isalnum() for c in v):
            raise ValueError(f"expected punctuation such as '!' (no letters or spaces), got {v!r}")
        return v

    @field_validator("teams")
    @classmethod
    def _teams(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for t in v:
            if not _TEAM.match(t):
                raise ValueError(f"expected lowercase team names like 'infra', got {t!r}")
        if len(set(v)) != len(v):
            raise ValueError("team names must be unique")
        return v

    @field_validator("networks")
    @classmethod
    def _network_names(cls, v: dict[str, Any]) -> dict[str, Any]:
        for name in v:
            if not re.match(r"^[A-Za-z0-9_-]{1,32}$", name):
                raise ValueError(f"network names are letters, digits, '-' and '_', got {name!r}")
        return v

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def database_url(self) -> str:
        return async_database_url(self.database, self._base_dir)

    @property
    def base_dir(self) -> Path:
        """Directory relative paths in the config are resolved against."""
        return self._base_dir

    def missing_secrets(self) -> list[str]:
        """Environment variables the config names but the environment lacks."""
        problems = []
        for name, net in self.networks.items():
            for key in ("password_env", "access_token_env"):
                env = getattr(net, key, None)
                if env and env not in os.environ:
                    problems.append(
                        f"networks.{name}.{key}: environment variable "
                        f"{env} is not set; export it before starting the bot"
                    )
        if self.mail and self.mail.password_env and self.mail.password_env not in os.environ:
            problems.append(
                f"mail.password_env: environment variable {self.mail.password_env} is not "
                "set; export it before starting the bot"
            )
        return problems


def async_database_url(url: str, base_dir: Path) -> str:
    """Accept plain SQLAlchemy URLs and pick the async driver; relative SQLite paths are
    relative to the config file, so `-c /etc/deployday/config.yaml` finds its database."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:" and not Path(path).is_absolute():
            url = f"sqlite:///{(base_dir / path).resolve()}"
    for plain, driver in (
        ("sqlite://", "sqlite+aiosqlite://"),
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
    ):
        if url.startswith(plain):
            return driver + url.removeprefix(plain)
    return url


def _describe_input(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _loc_path(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item in _NETWORK_MODELS and parts and parts[-1] != "networks":
            continue  # discriminator tag pydantic inserts; not a key the user wrote
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or "(top level)"


def plugin_sections(names: Any) -> dict[str, type[BaseModel]] | str:
    """Settings sections of the named plugins, or why they cannot be loaded."""
    from bot.app import StartupError, load_plugin_classes

    if not isinstance(names, list | tuple) or not all(isinstance(n, str) for n in names):
        return "expected a list of plugin module names"
    try:
        classes = load_plugin_classes(names)
    except StartupError as exc:
        return str(exc)
    return {c.settings_key: c.Settings for c in classes if c.settings_key and c.Settings}


def _problem(
    err: dict[str, Any], model: type[BaseModel] | None, extra_keys: list[str] | None = None
) -> str:
    path = _loc_path(err["loc"])
    kind = err["type"]
    if kind == "missing":
        return f"{path}: required key is missing"
    if kind == "extra_forbidden":
        key = str(err["loc"][-1])
        hint = _suggest(key, err["loc"][:-1], model, extra_keys or [])
        return f"{path}: unknown key{hint}"
    if kind == "union_tag_invalid":
        ctx = err.get("ctx", {})
        return f"{path}.kind: expected one of {ctx.get('expected_tags')}, got {ctx.get('tag')!r}"
    if kind == "union_tag_not_found":
        return f"{path}.kind: required key is missing (say which network kind, e.g. irc)"
    msg = err["msg"].removeprefix("Value error, ")
    msg = msg[:1].lower() + msg[1:]
    if "got " in msg or isinstance(err["input"], dict | list):
        return f"{path}: {msg}"
    return f"{path}: {msg} (got {_describe_input(err['input'])})"


def _suggest(
    key: str, parent: tuple[Any, ...], model: type[BaseModel] | None, extra_keys: list[str]
) -> str:
    fields = _fields_at(parent, model) + (extra_keys if not parent else [])
    close = difflib.get_close_matches(key, fields, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _fields_at(loc: tuple[Any, ...], model: type[BaseModel] | None) -> list[str]:
    current: Any = model
    for item in loc:
        if current is None or isinstance(item, int):
            continue
        if item == "networks":
            current = IrcNetworkConfig
            continue
        if item in _NETWORK_MODELS:
            current = _NETWORK_MODELS[item]
            continue
        field = current.model_fields.get(item) if hasattr(current, "model_fields") else None
        if field is None:
            continue
        ann = field.annotation
        current = ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None
    return list(current.model_fields) if current is not None else []


def load_config(path: str | Path | None) -> Config:
    """Load and validate; with no path, the embedded defaults (console + local SQLite)."""
    if path is None:
        return Config.build({})
    path = Path(path)
    try:
        raw_text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read config: {exc.strerror}"]) from None
    except UnicodeDecodeError:
        raise ConfigError([f"{path}: config is not UTF-8 text"]) from None
    try:
        raw = yaml.safe_load(raw_text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([f"{path}{where}: YAML syntax error: {problem}"]) from None
    if raw is None:
        raise ConfigError([f"{path}: config is empty; see config.example.yaml"])
    if not isinstance(raw, dict):
        raise ConfigError([f"{path}: expected a mapping of keys at the top level"])
    try:
        return Config.build(raw, base_dir=path.parent.resolve())
    except ConfigError as exc:
        raise ConfigError([f"{path}: {p}" for p in exc.problems]) from None
