"""HTTP routes features offer (alerts in, deploys marked, health, a calendar feed), in a
vocabulary of their own: a feature registers `Route`s here without knowing which server
serves them or whether one runs at all; the intake feature serves them when enabled."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]  # names lowercase
    body: bytes
    remote: str | None = None

    def json(self) -> Any:
        """The body as JSON, or HttpError 400 saying why it is not."""
        try:
            return json.loads(self.body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise HttpError(400, f"the body is not valid JSON: {exc}") from None


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, value: Any, status: int = 200) -> Response:
        return cls(status, json.dumps(value, separators=(",", ":")).encode())

    @classmethod
    def error(cls, status: int, message: str) -> Response:
        return cls.json({"error": message}, status)


class HttpError(Exception):
    """A request the caller can fix: answered with `status` and {"error": message}."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    path: str
    handler: Handler
    public: bool = False  # served without the bearer token (health checks)
    # A second token this route also takes as ?token=, for clients that cannot send an
    # Authorization header (calendar apps); read when a request comes, None: none is set
    query_token: Callable[[], str | None] | None = None


class Routes:
    """Every route the enabled features offer, by method and exact path."""

    def __init__(self) -> None:
        self._routes: dict[tuple[str, str], Route] = {}

    def add(
        self,
        method: str,
        path: str,
        handler: Handler,
        *,
        public: bool = False,
        query_token: Callable[[], str | None] | None = None,
    ) -> None:
        key = (method.upper(), path)
        if key in self._routes:
            raise ValueError(f"{method} {path} is already served")
        self._routes[key] = Route(method.upper(), path, handler, public, query_token)

    def find(self, method: str, path: str) -> Route | None:
        return self._routes.get((method.upper(), path))

    def methods(self, path: str) -> list[str]:
        """The methods served on `path`, for a 405's Allow header."""
        return sorted(m for m, p in self._routes if p == path)

    def __iter__(self) -> Iterator[Route]:
        return iter(self._routes.values())
