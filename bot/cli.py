"""`deployday` command line: run the bot, try it in a console, play the demo, check a
config, manage the database, and whatever subcommands the enabled plugins add."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from bot import redact
from bot.app import App
from bot.clock import SystemClock
from bot.config import BUILTIN_PLUGINS, Config, ConfigError
from bot.errors import StartupError
from bot.loading import load_config, load_plugin_classes
from bot.plugin import CliCommand
from bot.store import Store
from bot.transports import build_transports
from bot.transports.console import ConsoleTransport

log = logging.getLogger("deployday")


def _with_config(p: argparse.ArgumentParser, required: bool) -> None:
    p.add_argument(
        "-c", "--config", type=Path, required=required, help="YAML config (see config.example.yaml)"
    )


def _parser(plugin_commands: Sequence[CliCommand]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deployday", description="Deploy-day incident coordination bot for IRC and Matrix."
    )
    parser.add_argument(
        "--log-level",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="default INFO (WARNING for the demo, to keep its transcript clean)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _with_config(sub.add_parser("run", help="join the configured networks and serve"), True)
    _with_config(sub.add_parser("console", help="serve the commands in this terminal"), False)
    demo = sub.add_parser("demo", help="play a short deploy day on an embedded IRC server")
    demo.add_argument(
        "--db",
        type=Path,
        default=Path("deployday-demo.sqlite3"),
        help="SQLite file to (re)create and keep (default: %(default)s)",
    )
    _with_config(sub.add_parser("check-config", help="validate a config, explain problems"), True)
    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    _with_config(db_sub.add_parser("upgrade", help="apply migrations"), False)
    for cmd in plugin_commands:
        p = sub.add_parser(cmd.name, help=cmd.help)
        _with_config(p, False)
        cmd.configure(p)
        p.set_defaults(plugin_command=cmd)
    return parser


def _config_path(argv: Sequence[str]) -> Path | None:
    """The -c/--config value, read before the full parser exists: which plugins are
    enabled decides which subcommands there are."""
    for i, arg in enumerate(argv):
        if arg in ("-c", "--config") and i + 1 < len(argv):
            return Path(argv[i + 1])
        if arg.startswith("--config="):
            return Path(arg.split("=", 1)[1])
    return None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        path = _config_path(argv)
        names = load_config(path).plugins if path and path.exists() else BUILTIN_PLUGINS
        plugin_commands = [c for cls in load_plugin_classes(names) for c in cls.cli_commands()]
    except (ConfigError, StartupError):
        plugin_commands = []  # reported properly once the command runs
    args = _parser(plugin_commands).parse_args(argv)
    level = args.log_level or ("WARNING" if args.command == "demo" else "INFO")
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    redact.install()
    if level != "DEBUG":
        logging.getLogger("alembic").setLevel(logging.WARNING)
    umask = os.umask(0o077)  # read it (there is no other way); `_configured` sets it
    os.umask(umask)
    try:
        return _dispatch(args)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2
    except StartupError as exc:
        print(f"deployday: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    finally:
        os.umask(umask)  # as it was, for a caller in the same process (the tests)


def _dispatch(args: argparse.Namespace) -> int:
    plugin_command: CliCommand | None = getattr(args, "plugin_command", None)
    if plugin_command is not None:
        return asyncio.run(_plugin_command(_configured(args.config), plugin_command, args))
    match args.command:
        case "run":
            return asyncio.run(_run(_configured(args.config)))
        case "console":
            return asyncio.run(_console(_configured(args.config)))
        case "demo":
            from bot.devtools.demo import play

            return asyncio.run(play(args.db))
        case "check-config":
            return _check_config(args.config)
        case "db":
            return asyncio.run(_db_upgrade(_configured(args.config)))
    raise AssertionError(f"unhandled command {args.command}")


def _configured(path: Path | None) -> Config:
    """The config; from here on, whatever this process creates (the database, its lock,
    digests, exports, the Matrix key store) gets the modes of `file_mode` (bot.files), not
    whatever umask the shell had."""
    config = load_config(path)
    os.umask(config.modes.umask)
    return config


async def _run(config: Config) -> int:
    missing = config.missing_secrets()
    if missing:
        raise ConfigError(missing)
    if not config.networks:
        raise StartupError(
            "no networks configured; add one under `networks:` "
            "(see config.example.yaml) or try `deployday console`"
        )
    clock = SystemClock()
    store = Store(config.database_url, modes=config.modes)
    app = App(config, build_transports(config, clock, store), clock=clock, store=store)
    await app.run()
    return 0


async def _console(config: Config) -> int:
    clock = SystemClock()
    holder: list[App] = []
    console = ConsoleTransport(config.console.user, clock, lambda: holder[0].request_stop())
    app = App(config, [console], clock=clock)
    holder.append(app)
    await app.run()
    return 0


async def _offline(config: Config) -> App:
    """The app without networks: store ready, plugins built, nothing started."""
    app = App(config, [], clock=SystemClock())
    try:
        await app.prepare_store()
    except BaseException:
        await app.store.dispose()
        raise
    return app


async def _plugin_command(config: Config, cmd: CliCommand, args: argparse.Namespace) -> int:
    app = await _offline(config)
    try:
        plugin = next(p for p in app.plugins if isinstance(p, cmd.plugin))
        return await getattr(plugin, cmd.method)(args)
    finally:
        await app.store.dispose()


def _check_config(path: Path) -> int:
    config = load_config(path)
    problems = config.missing_secrets()
    try:
        load_plugin_classes(config.plugins)
    except StartupError as exc:
        problems.append(f"plugins: {exc}")
    if problems:
        for problem in problems:
            print(f"{path}: {problem}", file=sys.stderr)
        return 1
    nets = (
        ", ".join(
            f"{n} ({c.kind}, "
            + (f"{len(c.channels)} channels)" if c.kind == "irc" else f"{len(c.rooms)} rooms)")
            for n, c in config.networks.items()
        )
        or "none"
    )
    print(
        f"{path}: OK — networks: {nets}; database: {_redact(config.database)}; "
        f"timezone: {config.timezone}; admins: {len(config.admins)}"
    )
    return 0


async def _db_upgrade(config: Config) -> int:
    app = await _offline(config.model_copy(update={"auto_migrate": True}))
    await app.store.dispose()
    print(f"database {_redact(config.database)} is up to date")
    return 0


def _redact(url: str) -> str:
    """Hide a password embedded in a database URL."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1]


if __name__ == "__main__":
    sys.exit(main())
