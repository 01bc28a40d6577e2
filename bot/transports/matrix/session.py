"""The Matrix account's session: the nio client, logging in once and reusing it after.

An access token from the environment, else the one saved in the bot's database (with its
device ID, so a restart is the same device), is checked with `whoami`; a password login
happens only when there is none or the homeserver revoked it. How homeserver failures look
(network exceptions, `ErrorResponse` codes) is defined here for the whole package.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import aiohttp
from nio import (
    AsyncClient,
    AsyncClientConfig,
    ErrorResponse,
    LoginResponse,
    ProfileGetDisplayNameResponse,
    WhoamiResponse,
)

from bot.config.networks import MatrixNetworkConfig
from bot.redact import keep_secret
from bot.state import State

log = logging.getLogger(__name__)

REQUEST_TIMEOUT = 30.0
NETWORK_ERRORS = (aiohttp.ClientError, OSError, TimeoutError)


class LoginFailed(Exception):
    """Logging in cannot succeed until someone fixes the config or the account."""


def error_code(resp: ErrorResponse) -> str:
    return str(resp.status_code or "")


def make_client(config: MatrixNetworkConfig, store_path: Path) -> AsyncClient:
    """A client that leaves retrying to us: rate limits and connection errors come back
    at once, so the sync loop and the send queues own the backoff."""
    settings = AsyncClientConfig(
        max_limit_exceeded=0,  # return 429s to us: we honour retry_after_ms ourselves
        max_timeouts=0,  # raise connection errors: the supervisor owns the backoff
        request_timeout=REQUEST_TIMEOUT,
        encryption_enabled=config.encryption,
        store_sync_tokens=False,
    )
    return AsyncClient(
        config.homeserver,
        config.user_id,
        device_id=config.device_id,
        store_path=str(store_path) if config.encryption else "",
        config=settings,
    )


class Session:
    """Whether the client is logged in, and getting it logged in."""

    def __init__(
        self, name: str, config: MatrixNetworkConfig, client: AsyncClient, state: State
    ) -> None:
        self.name = name
        self.config = config
        self._client = client
        self._state = state
        self._key = f"matrix:{name}:session"
        self.active = False  # the client holds an access token the homeserver accepts
        self.display_name: str | None = None
        self.logins = 0  # password logins performed by this instance

    def revoked(self) -> None:
        """The homeserver no longer knows the token: log in again before the next sync."""
        self.active = False

    async def ensure(self) -> None:
        """Reuse the access token from the environment or the saved session; log in with
        the password only when there is none or the homeserver no longer accepts it."""
        if self.active:
            return
        token_env = self.config.access_token_env
        if token_env:
            token = self._secret(token_env)
            if token is None:
                raise LoginFailed(f"{token_env} is not set")
            if not await self._restore(token, self.config.device_id):
                raise LoginFailed(f"the access token in {token_env} is not accepted")
            return
        saved = await self._state.get_json(self._key)
        if (
            isinstance(saved, dict)
            and saved.get("user_id") == self.config.user_id
            and saved.get("homeserver") == self.config.homeserver
            and (self.config.device_id is None or saved.get("device_id") == self.config.device_id)
            and await self._restore(str(saved.get("access_token")), saved.get("device_id"))
        ):
            return
        await self._log_in(saved.get("device_id") if isinstance(saved, dict) else None)

    async def _log_in(self, saved_device: str | None) -> None:
        password = self._secret(self.config.password_env)
        if password is None:
            raise LoginFailed(f"{self.config.password_env} is not set")
        client = self._client
        client.device_id = self.config.device_id or saved_device
        resp = await client.login(password, device_name=self.config.device_name)
        if not isinstance(resp, LoginResponse):
            if error_code(resp) in ("M_FORBIDDEN", "M_USER_DEACTIVATED", "M_INVALID_PARAM"):
                raise LoginFailed(f"login refused: {resp.message}")
            raise ConnectionError(f"login failed: {resp}")
        self.logins += 1
        keep_secret(resp.access_token)
        await self._state.set_json(
            self._key,
            {
                "homeserver": self.config.homeserver,
                "user_id": resp.user_id,
                "device_id": resp.device_id,
                "access_token": resp.access_token,
            },
        )
        log.info("%s: logged in as %s (device %s)", self.name, resp.user_id, resp.device_id)
        await self._after_login()

    async def _restore(self, token: str, device_id: str | None) -> bool:
        """Use an existing access token; False when the homeserver rejects it."""
        client = self._client
        client.access_token = keep_secret(token) or ""
        resp = await client.whoami()
        if isinstance(resp, WhoamiResponse):
            if resp.user_id != self.config.user_id:
                raise LoginFailed(
                    f"the access token belongs to {resp.user_id}, not {self.config.user_id}"
                )
            client.restore_login(resp.user_id, resp.device_id or device_id or "", token)
            log.info("%s: reusing the session of device %s", self.name, client.device_id)
            await self._after_login()
            return True
        client.access_token = ""
        if error_code(resp) == "M_UNKNOWN_TOKEN":
            log.warning("%s: the saved access token was revoked", self.name)
            return False
        raise ConnectionError(f"whoami failed: {resp}")

    async def _after_login(self) -> None:
        self.active = True
        resp = await self._client.get_displayname(self.config.user_id)
        if isinstance(resp, ProfileGetDisplayNameResponse) and resp.displayname:
            self.display_name = resp.displayname

    def _secret(self, env: str | None) -> str | None:
        if not env:
            return None
        value = keep_secret(os.environ.get(env))
        if not value:
            log.error("%s: environment variable %s is not set", self.name, env)
        return value or None
