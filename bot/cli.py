"""`deployday` command line: run the bot, try it in a console, play the demo, check a
config, manage the database."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.app import App, StartupError, load_plugin_classes
from bot.clock import SystemClock
from bot.config import Config, ConfigError, load_config
from bot.store import Store
from bot.transports import build_transports
from bot.transports.console import ConsoleTransport

log = logging.getLogger("deployday")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deployday", description="Deploy-day incident coordination bot for IRC and Matrix."
    )
    parser.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="default INFO",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_config(p: argparse.ArgumentParser, required: bool) -> None:
        p.add_argument(
            "-c",
            "--config",
            type=Path,
            required=required,
            help="YAML config (see config.example.yaml)",
        )

    with_config(sub.add_parser("run", help="join the configured networks and serve"), True)
    console = sub.add_parser("console", help="serve the commands in this terminal, no network")
    with_config(console, False)
    demo = sub.add_parser("demo", help="play a short deploy day on an embedded IRC server")
    demo.add_argument(
        "--db",
        type=Path,
        default=Path("deployday-demo.sqlite3"),
        help="SQLite file to (re)create and keep (default: %(default)s)",
    )
    with_config(sub.add_parser("check-config", help="validate a config and explain problems"), True)
    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    with_config(db_sub.add_parser("upgrade", help="apply migrations"), False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.log_level != "DEBUG":
        logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        match args.command:
            case "run":
                return asyncio.run(_run(load_config(args.config)))
            case "console":
                return asyncio.run(_console(load_config(args.config)))
            case "demo":
                from bot.demo import play

                return asyncio.run(play(args.db))
            case "check-config":
                return _check_config(args.config)
            case "db":
                return asyncio.run(_db_upgrade(load_config(args.config)))
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2
    except StartupError as exc:
        print(f"deployday: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


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
    app = App(config, build_transports(config, clock), clock=clock)
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
        ", ".join(f"{n} ({c.kind}, {len(c.channels)} channels)" for n, c in config.networks.items())
        or "none"
    )
    print(
        f"{path}: OK — networks: {nets}; database: {_redact(config.database)}; "
        f"timezone: {config.timezone}; admins: {len(config.admins)}"
    )
    return 0


async def _db_upgrade(config: Config) -> int:
    classes = load_plugin_classes(config.plugins)
    dirs = list(dict.fromkeys(c.migrations for c in classes if c.migrations))
    store = Store(config.database_url)
    try:
        await store.upgrade(dirs)
    finally:
        await store.dispose()
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
