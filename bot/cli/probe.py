"""`check-config --connect`: open the database and log in to each network the way `run`
would, then leave, and say in one line each what happened. Nothing is joined or sent."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import ssl
from collections.abc import Awaitable, Callable

from sqlalchemy.exc import DBAPIError

from bot.app import App
from bot.config import Config
from bot.config.networks import IrcNetworkConfig, MatrixNetworkConfig
from bot.errors import StartupError, reason
from bot.store.errors import database_unavailable
from bot.transports.irc.caps import ACCOUNT_CAPS

TIMEOUT = 20.0
Probe = Callable[[], Awaitable[str]]


async def probe_all(config: Config) -> list[tuple[bool, str]]:
    """(worked, line) for the database, then each network in config order."""
    probes: list[tuple[str, Probe, str]] = [("database", lambda: probe_database(config), "")]
    for name, net in config.networks.items():
        if isinstance(net, IrcNetworkConfig):
            hint = "; with `tls: true`: is that port a TLS port?" if net.tls else ""
            probes.append((f"networks.{name}", lambda net=net: probe_irc(net), hint))
        else:
            probes.append((f"networks.{name}", lambda net=net: probe_matrix(net), ""))
    results = []
    for label, probe, silent_hint in probes:
        try:
            async with asyncio.timeout(TIMEOUT):
                results.append((True, f"{label}: {await probe()}"))
        except TimeoutError:
            results.append((False, f"{label}: no answer within {TIMEOUT:.0f}s{silent_hint}"))
        except (OSError, StartupError, ProbeFailed) as exc:
            results.append((False, f"{label}: {_explain(exc)}"))
    return results


class ProbeFailed(Exception):
    """The server answered, but not as the bot needs (login refused, banned…)."""


def _explain(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused; is the server running and the port right?"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed ({exc.reason or exc}); is the port a TLS port, is `tls` right?"
    return reason(exc)


async def probe_database(config: Config) -> str:
    app = App(config, [])
    try:
        behind = await app.store.pending_migrations(app.migration_dirs)
    except (DBAPIError, OSError) as exc:
        raise database_unavailable(config.database_url, exc) from None
    finally:
        await app.store.dispose()
    state = "migrations to apply (run applies them)" if behind else "schema up to date"
    return f"opened ({app.store.dialect}); {state}"


async def probe_irc(net: IrcNetworkConfig) -> str:
    context = None
    if net.tls:
        context = ssl.create_default_context()
        if not net.tls_verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
    reader, writer = await asyncio.open_connection(net.host, net.port, ssl=context)
    try:
        return await _register(net, reader, writer)
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def _register(
    net: IrcNetworkConfig, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> str:
    secret = os.environ.get(net.password_env) if net.password_env else None

    def send(line: str) -> None:
        writer.write(line.encode() + b"\r\n")

    send("CAP LS 302")
    if secret and not net.sasl_username:
        send(f"PASS {secret}")
    send(f"NICK {net.nick}")
    send(f"USER {net.username or net.nick} 0 * :{net.realname}")
    offered: set[str] = set()
    logged_in = ""
    while line := (await reader.readline()).decode("utf-8", "replace").rstrip("\r\n"):
        words = line.split(" ")
        verb = words[1] if line.startswith(":") and len(words) > 1 else words[0]
        if verb == "PING":
            send("PONG " + line.split(" ", 1)[1])
        elif verb == "CAP" and len(words) > 3 and words[3] == "LS":
            offered |= {c.split("=")[0] for c in line.split(" :", 1)[-1].split()}
            if words[4] != "*":
                wanted = (ACCOUNT_CAPS | ({"sasl"} if net.sasl_username else set())) & offered
                send(f"CAP REQ :{' '.join(sorted(wanted))}" if wanted else "CAP END")
        elif verb == "CAP" and len(words) > 3 and words[3] in ("ACK", "NAK"):
            if net.sasl_username and words[3] == "ACK" and "sasl" in line:
                send("AUTHENTICATE PLAIN")
            else:
                send("CAP END")
        elif verb == "AUTHENTICATE":
            token = f"{net.sasl_username}\0{net.sasl_username}\0{secret or ''}".encode()
            send("AUTHENTICATE " + base64.b64encode(token).decode())
        elif verb == "903":
            logged_in = f", logged in as {net.sasl_username}"
            send("CAP END")
        elif verb in ("902", "904", "905"):
            raise ProbeFailed(f"SASL login as {net.sasl_username} refused; check the password")
        elif verb == "433":
            raise ProbeFailed(f"nick {net.nick} is in use (the bot would take an alternative)")
        elif verb in ("464", "465", "ERROR"):
            raise ProbeFailed(f"refused: {line.split(' :', 1)[-1]}")
        elif verb == "001":
            send("QUIT :deployday check-config")
            return _registered(net, offered, logged_in)
    raise ProbeFailed("the server closed the connection before registration")


def _registered(net: IrcNetworkConfig, offered: set[str], logged_in: str) -> str:
    tracking = bool(offered & ACCOUNT_CAPS)
    by = net.identify_by if net.identify_by != "auto" else ("account" if tracking else "nick")
    tls = " (TLS)" if net.tls else ""
    return (
        f"{net.host}:{net.port}{tls}: registered as {net.nick}{logged_in}; "
        f"account tracking {'offered' if tracking else 'not offered'}, "
        f"so people are identified by {by}"
    )


async def probe_matrix(net: MatrixNetworkConfig) -> str:
    """whoami with the access token; with a password, a login on a throwaway device that
    is logged out at once (never the bot's own device, whose keys stay valid)."""
    from nio import AsyncClient, LoginResponse, WhoamiResponse

    client = AsyncClient(net.homeserver, net.user_id)
    try:
        if net.access_token_env:
            client.access_token = os.environ.get(net.access_token_env, "")
            answer = await client.whoami()
            if not isinstance(answer, WhoamiResponse):
                raise ProbeFailed(f"{net.homeserver} refused the access token: {answer}")
            return f"{net.homeserver}: the access token is valid for {answer.user_id}"
        secret = os.environ.get(net.password_env or "", "")
        answer = await client.login(secret, device_name="deployday check-config")
        if not isinstance(answer, LoginResponse):
            raise ProbeFailed(f"{net.homeserver} refused the login as {net.user_id}: {answer}")
        await client.logout()
        return f"{net.homeserver}: logged in as {net.user_id} (and out again)"
    finally:
        await client.close()
