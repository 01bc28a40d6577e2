"""`deployday init`: a starter config for one IRC network, commented, that passes
`check-config` as written. Asks on a terminal; takes flags (and never asks) otherwise."""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path
from typing import TextIO

from pydantic import ValidationError

from bot.config import ConfigError
from bot.config.networks import IrcNetworkConfig
from bot.config.problems import problem_lines
from bot.errors import EXIT_OK, StartupError
from bot.loading import load_config

DEFAULT_NICK = "deployday"

TEMPLATE = """\
# deployday config for one IRC network, written by `deployday init` on {date}.
# Check it:  deployday check-config -c {name}     Run it:  deployday run -c {name}
# Every key and what it does: `deployday init --example -o example.yaml` writes the
# reference, config.example.yaml. Secrets never live here: keys ending in _env name
# an environment variable.

# SQLite, relative to this file; several instances share postgresql://user@host/dbname.
database: sqlite:///deployday.sqlite3

# How times are shown in chat (an IANA zone); everything is stored in UTC.
timezone: {timezone}

# Who may start and end deploys and manage the roster: IRC nicks (services accounts on
# networks with services) and Matrix user IDs.
admins: [{admin}]

# Teams people check in for (lowercase).
teams: [infra, releng, docs, qa]

roster:
  # false: only people an admin put on the roster (!roster add <who> <team>) may
  # !checkin; true: anyone may check in to any team.
  self_checkin: false

reminders:
  enabled: true              # nag about unowned and stale incidents during a deploy
  summary_every: 60          # an MTTR summary every hour of a deploy (0: none)

digest:
  end_of_day: "18:00"        # also write the digest at this local time on a deploy day
  # To mail it, add the SMTP server (a `mail:` section, see the reference) and:
  # mail_to: [infrastructure@example.org]

networks:
  {network}:                 # the name is used in logs, exports and the database
    kind: irc
    host: {host}
    port: {port}
    tls: {tls}
    nick: {nick}
    channels: [{channel}]
    # auto: people are known by services account where the server tracks accounts,
    # else by nick (which anyone can take); check-config --connect says which.
    identify_by: auto
{login}"""

LOGIN = """\
    sasl_username: {account}       # the bot logs in with SASL PLAIN as this account
    password_env: {env}   # export {env}=… before starting
"""
NO_LOGIN = """\
    # To log the bot in to its services account (SASL), set both and export the password:
    # sasl_username: {nick}
    # password_env: {env}
"""


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", type=Path, default=Path("config.yaml"), help="%(default)s")
    p.add_argument(
        "--server", help="IRC server, HOST or HOST:PORT (TLS unless port 6667 or this machine)"
    )
    p.add_argument("--channel", help="channel the bot joins and announces in, e.g. #deploy")
    p.add_argument("--nick", help=f"the bot's nick (default {DEFAULT_NICK})")
    p.add_argument("--admin", help="your IRC nick (or services account): you may start deploys")
    p.add_argument("--account", help="the bot's services account, to log in with SASL")
    p.add_argument("--tls", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--timezone", help="IANA zone for times in chat (default UTC)")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.add_argument("--example", action="store_true", help="write the full reference config instead")


def init(args: argparse.Namespace, stdin: TextIO = sys.stdin) -> int:
    out: Path = args.output
    if out.exists() and not args.force:
        raise StartupError(f"{out} exists; choose another -o FILE or add --force")
    if args.example:
        text = files("bot.config").joinpath("example.yaml").read_text(encoding="utf-8")
    else:
        text = starter(_answers(args, stdin), out.name)
    out.write_text(text, encoding="utf-8")
    try:
        load_config(out)
    except ConfigError as exc:  # an answer the template cannot hold; leave nothing behind
        out.unlink()
        raise StartupError("; ".join(exc.problems)) from None
    print(f"wrote {out}")
    if not args.example:
        print(f"TLS is {'on' if 'tls: true' in text else 'off'} (--tls / --no-tls to choose)")
    print(f"next: deployday check-config -c {out}   then: deployday run -c {out}")
    return EXIT_OK


def _answers(args: argparse.Namespace, stdin: TextIO) -> dict[str, str]:
    asking = stdin.isatty() and not (args.server and args.channel and args.admin)
    if asking:
        args.server = args.server or _ask("IRC server (host or host:port)", "irc.libera.chat")
        args.channel = args.channel or _ask("channel to join", "#deploy")
        args.nick = args.nick or _ask("the bot's nick", DEFAULT_NICK)
        args.admin = args.admin or _ask("your nick (you become an admin)", None)
    missing = [f"--{k}" for k in ("server", "channel", "admin") if not getattr(args, k)]
    if missing:
        raise StartupError(
            f"init: {', '.join(missing)} needed (no terminal to ask on); e.g. deployday init "
            "--server irc.libera.chat --channel '#deploy' --admin alice"
        )
    host, colon, port_text = args.server.rpartition(":")
    if not colon:
        host, port_text = args.server, ""
    if port_text and not port_text.isdigit():
        raise StartupError(f"init: --server expects HOST or HOST:PORT, got {args.server!r}")
    tls = args.tls if args.tls is not None else not (port_text == "6667" or _loopback(host))
    port = int(port_text) if port_text else (6697 if tls else 6667)
    nick = args.nick or DEFAULT_NICK
    network = _network_name(host)
    _check_network(host, port, nick, args.channel)
    env = f"DEPLOYDAY_{network.upper().replace('-', '_')}_PASSWORD"
    login = LOGIN.format(account=args.account, env=env) if args.account else ""
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "timezone": args.timezone or "UTC",
        "admin": json.dumps(args.admin),
        "network": network,
        "host": host,
        "port": str(port),
        "tls": "true" if tls else "false",
        "nick": nick,
        "channel": json.dumps(args.channel),
        "login": login or NO_LOGIN.format(nick=nick, env=env),
    }


def starter(answers: dict[str, str], name: str) -> str:
    return TEMPLATE.format(name=name, **answers)


def _ask(question: str, default: str | None) -> str:
    shown = f" [{default}]" if default else ""
    while True:
        answer = input(f"{question}{shown}: ").strip() or default
        if answer:
            return answer


def _loopback(host: str) -> bool:
    """A server on this machine: a test or a tunnel, plain text unless told otherwise."""
    return host == "localhost" or host.startswith("127.") or host == "::1"


def _network_name(host: str) -> str:
    """irc.libera.chat -> libera; 127.0.0.1 -> irc."""
    labels = [p for p in host.split(".") if p and p not in ("irc", "chat", "net", "org", "com")]
    name = re.sub(r"[^a-z0-9_-]", "", labels[0].lower()) if labels else ""
    return name if name and not name[0].isdigit() else "irc"


def _check_network(host: str, port: int, nick: str, channel: str) -> None:
    """The answers as the config will check them, so a bad one is refused here."""
    try:
        IrcNetworkConfig(kind="irc", host=host, port=port, nick=nick, channels=(channel,))
    except ValidationError as exc:
        lines = problem_lines(exc.errors(include_url=False), IrcNetworkConfig)
        raise StartupError(f"init: {'; '.join(lines)}") from None
