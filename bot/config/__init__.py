"""Load the YAML config and validate it into typed objects.

Every problem is reported as one line naming the file, the key path and what was expected,
so `deployday check-config` can list them all at once.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.config.admins import admin_problems, check_admin
from bot.config.base import (
    ConfigError,
    PluginSettings,
    RoomsByNetwork,
    S,
    StrictModel,
    env_name,
)
from bot.config.networks import NetworkConfig
from bot.config.problems import problem_lines
from bot.files import FileMode, Modes

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

DATABASE_SCHEMES = ("sqlite", "postgresql", "postgres")  # the drivers the package installs
_TEAM = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


class CoordinationConfig(StrictModel):
    """Instances sharing a database: scheduled jobs, and each network, are served by one
    instance at a time, the holder of a lease in the database."""

    lease: Literal["auto"] | bool = "auto"  # auto: on with PostgreSQL
    lease_seconds: float = Field(30.0, ge=3, le=3600)


class RateLimitConfig(StrictModel):
    """Per person: `burst` commands at once, then `per_minute` a minute."""

    burst: int = Field(8, ge=1, le=1000)
    per_minute: float = Field(30.0, gt=0, le=6000)


class ConsoleConfig(StrictModel):
    user: str = Field("console", min_length=1)


class MailConfig(StrictModel):
    """An SMTP server the bot may send mail through (bot.mail); who gets what is up to
    the plugins that send it."""

    host: str = Field(min_length=1)
    port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password_env: str | None = None
    from_address: str
    timeout: float = Field(30.0, gt=0, le=600)

    _check_env = field_validator("password_env")(env_name)

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


class Config(StrictModel):
    database: str = "sqlite:///deployday.sqlite3"
    auto_migrate: bool = True
    timezone: str = "UTC"
    prefix: str = Field("!", min_length=1, max_length=3)
    admins: tuple[Annotated[str, AfterValidator(check_admin)], ...] = ()
    teams: tuple[str, ...] = Field(("infra", "releng", "docs", "qa"), min_length=1)
    console: ConsoleConfig = ConsoleConfig()
    mail: MailConfig | None = None
    coordination: CoordinationConfig = CoordinationConfig()
    rate_limit: RateLimitConfig = RateLimitConfig()
    file_mode: FileMode = "owner"
    plugins: tuple[str, ...] = BUILTIN_PLUGINS
    networks: dict[str, NetworkConfig] = Field(default_factory=dict)
    _base_dir: Path = PrivateAttr(default_factory=Path.cwd)
    _sections: dict[str, BaseModel] = PrivateAttr(default_factory=dict)

    @classmethod
    def build(
        cls,
        raw: dict[str, Any],
        base_dir: Path | None = None,
        sections: Mapping[str, type[BaseModel]] | None = None,
    ) -> Config:
        """Validate the core keys and each plugin settings section in `sections` (top-level
        key -> its model; bot.loading finds them from the enabled plugins). Raises
        ConfigError with one `key.path: problem` line per problem."""
        sections = sections or {}
        core = {k: v for k, v in raw.items() if k not in sections}
        problems: list[str] = []
        try:
            config = cls.model_validate(core)
        except ValidationError as exc:
            problems += problem_lines(exc.errors(include_url=False), cls, list(sections))
        else:
            problems += admin_problems(config.admins, config.networks)
        parsed: dict[str, BaseModel] = {}
        for key, model in sections.items():
            try:
                parsed[key] = model.model_validate(raw.get(key) or {})
            except ValidationError as exc:
                errors = exc.errors(include_url=False)
                problems += problem_lines([{**e, "loc": (key, *e["loc"])} for e in errors], None)
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

    @field_validator("database")
    @classmethod
    def _database(cls, v: str) -> str:
        scheme = v.partition("://")[0].partition("+")[0] if "://" in v else ""
        if scheme not in DATABASE_SCHEMES:
            raise ValueError(
                "expected sqlite:///FILE (relative to this file) or "
                f"postgresql://user@host/dbname, got {v!r}"
            )
        return v

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
        return engine_url(self.database, self._base_dir)

    @property
    def modes(self) -> Modes:
        """The modes of the files and directories the bot creates (bot.files)."""
        return Modes.of(self.file_mode)

    @property
    def sections(self) -> Mapping[str, BaseModel]:
        """The plugin settings sections the config file has, by top-level key."""
        return dict(self._sections)

    @property
    def base_dir(self) -> Path:
        """Directory relative paths in the config are resolved against."""
        return self._base_dir

    def missing_secrets(self) -> list[str]:
        """Environment variables the config names but the environment lacks; a plugin's
        settings name theirs with a `missing_secrets()` method of their own."""
        problems = []
        for key, section in self._sections.items():
            check = getattr(section, "missing_secrets", None)
            if callable(check):
                problems += [f"{key}.{problem}" for problem in check()]
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


def engine_url(url: str, base_dir: Path) -> str:
    """Accept plain SQLAlchemy URLs and pick the driver the store runs (the stdlib sqlite3,
    psycopg 3); relative SQLite paths are relative to the config file, so
    `-c /etc/deployday/config.yaml` finds its database."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:" and not Path(path).is_absolute():
            url = f"sqlite:///{(base_dir / path).resolve()}"
    for plain in ("postgresql://", "postgres://", "postgresql+asyncpg://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url.removeprefix(plain)
    return url


def read_yaml(path: Path) -> dict[str, Any]:
    """The config file's top-level mapping, or ConfigError naming the file (and line)."""
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
    return raw


__all__ = [
    "BUILTIN_PLUGINS",
    "Config",
    "ConfigError",
    "MailConfig",
    "PluginSettings",
    "RoomsByNetwork",
    "StrictModel",
    "engine_url",
    "read_yaml",
]
