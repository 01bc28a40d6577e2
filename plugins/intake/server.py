"""The HTTP server (aiohttp) in front of the routes features registered (bot.web): the
bearer token, the body limit, and errors as one JSON line to the caller and one line in
the log. Handlers see plain Requests and never aiohttp."""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Mapping

from aiohttp import web

from bot.text import clean
from bot.web import HttpError, Request, Response, Route, Routes

log = logging.getLogger(__name__)

SHUTDOWN_GRACE = 5.0  # seconds requests in flight get when the bot stops


class IntakeServer:
    def __init__(self, routes: Routes, token: str, max_body: int) -> None:
        self._routes = routes
        self._token = token.encode()
        self._max_body = max_body
        self._runner: web.AppRunner | None = None

    async def start(self, host: str, port: int) -> None:
        app = web.Application(client_max_size=self._max_body)
        app.router.add_route("*", r"/{path:[\s\S]*}", self._serve)  # line breaks too
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_GRACE)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        log.info("intake listening on http://%s:%d", host, self.port)

    @property
    def port(self) -> int:
        """The port it listens on (the one picked, when configured as 0)."""
        assert self._runner is not None, "not started"
        return int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        try:
            response = await self._answer(request)
        except HttpError as exc:
            log.warning(
                "intake: %d %s %s from %s: %s",
                exc.status,
                request.method,
                _loggable(request.path),
                request.remote,
                _loggable(exc.message),
            )
            response = Response.error(exc.status, exc.message)
            if exc.status == 401:
                response = Response(401, response.body, headers={"WWW-Authenticate": "Bearer"})
        except Exception:
            ref = secrets.token_hex(3)
            log.exception(
                "intake: %s %s failed (ref %s)", request.method, _loggable(request.path), ref
            )
            response = Response.error(500, f"internal error (ref {ref}); it was logged")
        return web.Response(
            status=response.status,
            body=response.body,
            headers={"Content-Type": response.content_type, **response.headers},
        )

    async def _answer(self, request: web.Request) -> Response:
        route = self._routes.find(request.method, request.path)
        if route is None:
            allowed = self._routes.methods(request.path)
            if allowed:
                raise HttpError(
                    405, f"{request.method} is not served here; use {', '.join(allowed)}"
                )
            raise HttpError(404, f"nothing is served at {request.path}")
        if not (
            route.public
            or self._authorized(request.headers)
            or _query_token_fits(route, request.query.get("token"))
        ):
            also = " or ?token=…" if route.query_token else ""
            raise HttpError(401, f"missing or wrong bearer token (Authorization: Bearer …{also})")
        body = await self._body(request)
        return await route.handler(
            Request(
                request.method,
                request.path,
                dict(request.query),
                {k.lower(): v for k, v in request.headers.items()},
                body,
                request.remote,
            )
        )

    def _authorized(self, headers: Mapping[str, str]) -> bool:
        scheme, _, given = headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), self._token
        )

    async def _body(self, request: web.Request) -> bytes:
        too_big = HttpError(
            413, f"the body is larger than intake.max_body_bytes ({self._max_body})"
        )
        if request.content_length is not None and request.content_length > self._max_body:
            raise too_big
        try:
            return await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise too_big from None


def _query_token_fits(route: Route, given: str | None) -> bool:
    """The route's own ?token= (never the intake's token: a URL ends up in calendar apps
    and proxy logs, so what it opens is this one read-only route)."""
    expected = route.query_token() if route.query_token else None
    if not expected or not given:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def _loggable(text: str) -> str:
    """What a caller sent, fit for one log line: no line breaks or control characters."""
    return clean(text)[:300]
