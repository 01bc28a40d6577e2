"""IRCv3 capability negotiation and SASL PLAIN, driven by a connection's events: request
what the server offers of `account-tag`, `extended-join`, `account-notify`, `server-time`
(and `sasl` when configured), authenticate, and always end with CAP END so registration
never hangs on it. Shared with `bot.devtools.ircuser`."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterable

import irc.client

from bot.transports.irc.connection import IrcConnection, event_types, send_line

log = logging.getLogger(__name__)

ACCOUNT_CAPS = frozenset({"account-tag", "extended-join", "account-notify"})
WANTED_CAPS = ACCOUNT_CAPS | {"server-time"}
SASL_CHUNK = 400
SASL_DONE = event_types("903", "907")
SASL_FAILED = event_types("902", "904", "905", "906")
SASL_MECHS = event_types("908")
CAP_UNKNOWN = event_types("421", "451")


class CapNegotiator:
    """IRCv3 capability negotiation and SASL PLAIN for one connection, driven by its events.
    Every path ends in CAP END (or the server not knowing CAP), so registration never
    hangs on it; SASL failures are logged and registration continues without an account."""

    def __init__(
        self, conn: IrcConnection, wanted: Iterable[str], *, sasl: tuple[str, str] | None
    ) -> None:
        self.conn = conn
        self.sasl = sasl
        self.wanted = set(wanted) | ({"sasl"} if sasl else set())
        self.offered: dict[str, str] = {}
        self.acked: set[str] = set()
        self.account: str | None = None
        self.done = False
        self._pending: set[str] = set()
        self._sasl_started = False

    def handle(self, event: irc.client.Event) -> None:
        kind = event.type
        if kind == "cap":
            self._cap([str(a) for a in event.arguments])
        elif kind == "authenticate":
            self._authenticate(str(event.target))
        elif kind in SASL_DONE:
            self._end()
        elif kind in SASL_FAILED:
            text = event.arguments[-1] if event.arguments else kind
            log.error(
                "%s: SASL login as %s failed (%s); continuing without it",
                self.conn.label,
                self.sasl[0] if self.sasl else "?",
                text,
            )
            self._end()
        elif kind in SASL_MECHS:
            log.error(
                "%s: the server offers SASL mechanisms %s, not PLAIN",
                self.conn.label,
                event.arguments[0] if event.arguments else "?",
            )
        elif kind == "loggedin" and len(event.arguments) >= 2:
            self.account = event.arguments[1]
        elif kind == "loggedout":
            self.account = None
        elif kind in CAP_UNKNOWN and event.arguments and event.arguments[0].upper() == "CAP":
            self.done = True  # no IRCv3 here: plain registration goes on by itself
        elif kind == "welcome":
            self.done = True

    def _cap(self, args: list[str]) -> None:
        sub = args[0].upper() if args else ""
        if sub == "LS":
            more = len(args) >= 3 and args[1] == "*"
            for token in (args[-1] if len(args) >= 2 else "").split():
                name, _, value = token.partition("=")
                self.offered[name] = value
            if not more:
                self._request()
        elif sub in ("ACK", "NAK"):
            for token in (args[-1] if len(args) >= 2 else "").split():
                name = token.lstrip("-~=")
                self._pending.discard(name)
                if sub == "NAK":
                    log.info("%s: the server refused capability %s", self.conn.label, name)
                elif token.startswith("-"):
                    self.acked.discard(name)
                else:
                    self.acked.add(name)
            if not self._pending:
                self._after_requests()
        elif sub == "DEL":
            for name in (args[-1] if len(args) >= 2 else "").split():
                self.acked.discard(name)

    def _request(self) -> None:
        if self.done or self._pending:
            return
        want = sorted(c for c in self.wanted if c in self.offered)
        mechs = self.offered.get("sasl", "")
        if "sasl" in want and mechs and "PLAIN" not in mechs.upper().split(","):
            log.error(
                "%s: the server offers SASL %s but not PLAIN; continuing without it",
                self.conn.label,
                mechs,
            )
            want.remove("sasl")
        if self.sasl and "sasl" not in self.offered:
            log.error("%s: the server does not offer SASL; continuing without it", self.conn.label)
        if not want:
            self._end()
            return
        self._pending = set(want)
        for cap in want:  # one per REQ: a refusal then costs only that capability
            send_line(self.conn, f"CAP REQ :{cap}")

    def _after_requests(self) -> None:
        if self.sasl and "sasl" in self.acked and not self._sasl_started:
            self._sasl_started = True
            send_line(self.conn, "AUTHENTICATE PLAIN")
        elif not self._sasl_started:
            self._end()

    def _authenticate(self, argument: str) -> None:
        if argument != "+" or not self._sasl_started or self.sasl is None:
            return
        user, password = self.sasl
        payload = base64.b64encode(f"{user}\0{user}\0{password}".encode()).decode()
        for start in range(0, len(payload), SASL_CHUNK):
            send_line(self.conn, f"AUTHENTICATE {payload[start : start + SASL_CHUNK]}")
        if len(payload) % SASL_CHUNK == 0:
            send_line(self.conn, "AUTHENTICATE +")

    def _end(self) -> None:
        if not self.done:
            self.done = True
            send_line(self.conn, "CAP END")
