"""The subcommands that start the bot or part of it: run, console, demo, db upgrade and
the plugins' own (plan, export, digest…), each on a config loaded once."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from bot.app import App
from bot.clock import SystemClock
from bot.config import Config, ConfigError
from bot.config.review import review
from bot.errors import EXIT_OK, StartupError
from bot.loading import load_config
from bot.notify import Notifier
from bot.plugin import CliCommand
from bot.store import Store
from bot.transports import build_transports
from bot.transports.console import ConsoleTransport

log = logging.getLogger("deployday")


def owned(config: Config) -> Config:
    """From here on, whatever this process creates (the database, its lock, digests,
    exports, the Matrix key store) gets the modes of `file_mode` (bot.files), not whatever
    umask the shell had."""
    os.umask(config.modes.umask)
    return config


def checked_config(path: Path) -> Config:
    """The config as `run` accepts it: valid, and nothing the review calls an error. Its
    warnings are logged here, once."""
    config = load_config(path)
    found = review(config)
    if found.errors:
        raise ConfigError([f"{path}: {problem}" for problem in found.errors])
    for warning in found.warnings:
        log.warning("%s: %s", path, warning)
    return config


async def run(path: Path) -> int:
    config = owned(checked_config(path))
    if not config.networks:
        raise StartupError(
            "no networks configured; add one under `networks:` "
            "(see config.example.yaml) or try `deployday console`"
        )
    clock = SystemClock()
    store = Store(config.database_url, modes=config.modes)
    app = App(
        config,
        build_transports(config, clock, store),
        clock=clock,
        store=store,
        notifier=Notifier.from_environment(),
        reload=lambda: checked_config(path),
    )
    await app.run()
    return EXIT_OK


async def console(path: Path | None) -> int:
    if path is None:
        print(
            "deployday console: no config (-c FILE), so built-in defaults and the database "
            "./deployday.sqlite3",
            file=sys.stderr,
        )
    config = owned(load_config(path))
    clock = SystemClock()
    holder: list[App] = []
    transport = ConsoleTransport(config.console.user, clock, lambda: holder[0].request_stop())
    app = App(config, [transport], clock=clock)
    holder.append(app)
    await app.run()
    return EXIT_OK


async def offline(config: Config) -> App:
    """The app without networks: store ready, plugins built, nothing started."""
    app = App(config, [], clock=SystemClock())
    try:
        await app.prepare_store()
    except BaseException:
        await app.store.dispose()
        raise
    return app


async def plugin_command(config: Config, cmd: CliCommand, args: argparse.Namespace) -> int:
    app = await offline(config)
    try:
        plugin = next(p for p in app.plugins if isinstance(p, cmd.plugin))
        return await getattr(plugin, cmd.method)(args)
    finally:
        await app.store.dispose()


async def db_upgrade(config: Config) -> int:
    app = await offline(config.model_copy(update={"auto_migrate": True}))
    await app.store.dispose()
    print(f"database {redact(config.database)} is up to date")
    return EXIT_OK


def redact(url: str) -> str:
    """Hide a password embedded in a database URL."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1]
