"""The `deployday` command line's grammar. The options every command shares (-c and the
log options) are accepted before or after the subcommand, at any depth
(`deployday plan list -c FILE`, `deployday run --log-level DEBUG -c FILE`)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

from bot import __version__
from bot.cli.init import configure as configure_init
from bot.config import BUILTIN_PLUGINS, ConfigError, read_yaml
from bot.errors import StartupError
from bot.loading import load_plugin_classes
from bot.plugin import CliCommand

CONFIG_ENV = "DEPLOYDAY_CONFIG"
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _shared_options(p: argparse.ArgumentParser) -> None:
    """Defaults are suppressed so that a value given at one level is not overwritten by
    the default of another; `options()` fills them in."""
    quiet = argparse.SUPPRESS
    p.add_argument(
        "-c",
        "--config",
        type=Path,
        default=quiet,
        help=f"YAML config (see config.example.yaml); default: ${CONFIG_ENV}",
    )
    p.add_argument("--log-level", choices=LEVELS, default=quiet, help="default INFO")
    p.add_argument("--log-format", choices=("text", "json"), default=quiet, help="default text")
    p.add_argument("--log-file", type=Path, default=quiet, help="default: standard error")


def _everywhere(p: argparse.ArgumentParser) -> None:
    """The shared options on `p` and on every subcommand under it."""
    _shared_options(p)
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                _everywhere(sub)


def build_parser(plugin_commands: Sequence[CliCommand]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deployday",
        description="Deploy-day incident coordination bot for IRC and Matrix.",
        epilog="Exit status: 0 done, 1 could not do it (database, network, file), "
        "2 wrong command line or config.",
    )
    parser.add_argument("--version", action="version", version=f"deployday {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    configure_init(sub.add_parser("init", help="write a starter config for one IRC network"))
    sub.add_parser("run", help="join the configured networks and serve")
    sub.add_parser("console", help="serve the commands in this terminal")
    demo = sub.add_parser("demo", help="play a short deploy day on an embedded IRC server")
    demo.add_argument(
        "--db",
        type=Path,
        default=Path("deployday-demo.sqlite3"),
        help="SQLite file to (re)create and keep (default: %(default)s)",
    )
    check = sub.add_parser(
        "check-config", help="check a config without starting; one line per problem"
    )
    check.add_argument(
        "--connect",
        action="store_true",
        help="also open the database and connect to each network (one line each)",
    )
    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_sub.add_parser("upgrade", help="apply migrations")
    for cmd in plugin_commands:
        p = sub.add_parser(cmd.name, help=cmd.help)
        cmd.configure(p)
        p.set_defaults(plugin_command=cmd)
    _everywhere(parser)
    return parser


def options(args: argparse.Namespace) -> argparse.Namespace:
    """The shared options with their defaults; -c falls back to $DEPLOYDAY_CONFIG."""
    given = getattr(args, "config", None)
    env = os.environ.get(CONFIG_ENV)
    args.config = given or (Path(env) if env else None)
    args.config_from_env = not given and bool(env)
    args.log_level = getattr(args, "log_level", None)
    args.log_format = getattr(args, "log_format", "text")
    args.log_file = getattr(args, "log_file", None)
    return args


def plugin_commands(argv: Sequence[str]) -> list[CliCommand]:
    """The subcommands of the plugins the config enables, read before the full parser
    exists. A config that cannot be read gives the built-in ones: its problems are
    reported properly once the command runs."""
    path = _config_in(argv)
    names: object = BUILTIN_PLUGINS
    if path is not None and path.is_file():
        try:
            names = read_yaml(path).get("plugins", BUILTIN_PLUGINS)
        except ConfigError:
            names = BUILTIN_PLUGINS
    if not isinstance(names, list | tuple) or not all(isinstance(n, str) for n in names):
        names = BUILTIN_PLUGINS
    try:
        classes = load_plugin_classes(names)
    except StartupError:
        classes = load_plugin_classes(BUILTIN_PLUGINS)
    return [c for cls in classes for c in cls.cli_commands()]


def _config_in(argv: Sequence[str]) -> Path | None:
    for i, arg in enumerate(argv):
        if arg in ("-c", "--config") and i + 1 < len(argv):
            return Path(argv[i + 1])
        if arg.startswith("--config="):
            return Path(arg.split("=", 1)[1])
        if arg.startswith("-c") and len(arg) > 2:
            return Path(arg[2:])
    env = os.environ.get(CONFIG_ENV)
    return Path(env) if env else None
