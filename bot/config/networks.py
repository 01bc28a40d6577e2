"""The networks the bot joins: one IRC server or one Matrix account each."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from bot.config.base import StrictModel, env_name

_NICK = re.compile(r"^[A-Za-z\[\]\\`_^{|}][A-Za-z0-9\[\]\\`_^{|}-]{0,29}$")


class FloodConfig(StrictModel):
    """Outgoing token bucket: `burst` lines at once, then `per_second` lines each second."""

    burst: int = Field(4, ge=1, le=100_000)
    per_second: float = Field(1.0, gt=0, le=1_000_000)


class ReconnectConfig(StrictModel):
    min_delay: float = Field(1.0, gt=0, le=3600)
    max_delay: float = Field(60.0, gt=0, le=3600)

    @model_validator(mode="after")
    def _ordered(self) -> ReconnectConfig:
        if self.max_delay < self.min_delay:
            raise ValueError("max_delay must not be smaller than min_delay")
        return self


class IrcNetworkConfig(StrictModel):
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
    page_lines: int = Field(20, ge=2, le=1000)
    outbox_limit: int = Field(200, ge=10, le=100_000)

    _check_env = field_validator("password_env")(env_name)

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
_DEVICE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_MATRIX_ROOM = re.compile(r"^(![^\s]+|#[^:\s]+:[A-Za-z0-9.:\[\]-]+)$")


class MatrixNetworkConfig(StrictModel):
    """A Matrix account on one homeserver; see README, "Matrix"."""

    kind: Literal["matrix"]
    homeserver: str
    user_id: str
    password_env: str | None = None
    access_token_env: str | None = None
    device_name: str = Field("deployday", min_length=1, max_length=100)
    device_id: str | None = Field(None, pattern=_DEVICE.pattern)
    rooms: tuple[str, ...] = Field(min_length=1)
    announce: bool = True
    command_max_age: float = Field(300.0, ge=0, le=7 * 24 * 3600)
    admin_power_level: int | None = Field(None, ge=1)
    dm: Literal["anyone", "nobody"] | tuple[str, ...] = "anyone"
    encryption: bool = False
    store_path: str = "matrix-store"
    share_keys_with: Literal["all", "verified"] = "all"
    key_wait: float = Field(10.0, ge=0, le=600)
    trusted_devices: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    blocked_devices: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    sync_timeout: float = Field(30.0, gt=0, le=300)
    outbox_limit: int = Field(200, ge=10, le=100_000)
    reconnect: ReconnectConfig = ReconnectConfig()

    _check_env = field_validator("password_env", "access_token_env")(env_name)

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

    @field_validator("trusted_devices", "blocked_devices")
    @classmethod
    def _devices(cls, v: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for user, devices in v.items():
            cls._user_id(user)
            for device in devices:
                if not _DEVICE.match(device):
                    raise ValueError(f"expected device IDs like ABCDEFGHIJ, got {device!r}")
        return v

    @model_validator(mode="after")
    def _one_secret(self) -> MatrixNetworkConfig:
        if bool(self.password_env) == bool(self.access_token_env):
            raise ValueError("set exactly one of password_env and access_token_env")
        return self

    @model_validator(mode="after")
    def _encryption(self) -> MatrixNetworkConfig:
        """Keys belong to one device: a device ID that could change would leave them
        behind. Trust settings mean nothing without encryption, so they are refused."""
        if self.encryption and self.device_id is None:
            raise ValueError("encryption: true needs a fixed device_id (one device, one key store)")
        if not self.encryption and (
            self.share_keys_with != "all" or self.trusted_devices or self.blocked_devices
        ):
            raise ValueError(
                "share_keys_with, trusted_devices and blocked_devices need encryption: true"
            )
        return self


NetworkConfig = Annotated[IrcNetworkConfig | MatrixNetworkConfig, Field(discriminator="kind")]
NETWORK_MODELS: dict[str, type[BaseModel]] = {
    "irc": IrcNetworkConfig,
    "matrix": MatrixNetworkConfig,
}
