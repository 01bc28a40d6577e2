"""`deployday` command line: write a starter config, check it, run the bot, try it in a
console, play the demo, manage the database, and whatever subcommands the enabled plugins
add. Every subcommand exits 0 when done, 1 when it could not do its job, 2 when the
command line or the config is wrong, with one line saying why."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence

from bot.cli import serve
from bot.cli.init import init
from bot.cli.parser import CONFIG_ENV, build_parser, options, plugin_commands
from bot.config import ConfigError
from bot.errors import EXIT_FAILED, EXIT_USAGE, StartupError
from bot.loading import load_config
from bot.logs import setup_logging
from bot.plugin import CliCommand

log = logging.getLogger("deployday")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(plugin_commands(argv))
    args = options(parser.parse_args(argv))
    umask = os.umask(0o077)  # read it (there is no other way); `serve` sets it per config
    os.umask(umask)
    try:
        setup_logging(
            # the console and init are read by a person: only what needs them; the demo's
            # embedded server identifies by nick on purpose, which a real config is warned of
            args.log_level
            or {"demo": "ERROR", "init": "WARNING", "console": "WARNING"}.get(args.command, "INFO"),
            args.log_format,
            args.log_file,
        )
        status = _dispatch(args)
        sys.stdout.flush()
        return status
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return EXIT_USAGE
    except StartupError as exc:
        print(f"deployday: {exc}", file=sys.stderr)
        return exc.exit_status
    except BrokenPipeError:
        return _reader_went_away()
    except KeyboardInterrupt:
        return 130
    finally:
        os.umask(umask)  # as it was, for a caller in the same process (the tests)


def _reader_went_away() -> int:
    """`deployday export -o - | head`: the reader has what it wanted. Point stdout at
    /dev/null so the interpreter's own final flush finds nowhere to fail either."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return EXIT_FAILED


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "init":
        return init(args)
    if args.command == "demo":
        from bot.devtools.demo import play

        return asyncio.run(play(args.db))
    if args.command == "console":
        return asyncio.run(serve.console(args.config))
    if args.config is None:
        raise StartupError(
            f"{args.command}: which config? give -c FILE (or set {CONFIG_ENV}); "
            "`deployday init` writes one"
        )
    if args.config_from_env:
        log.info("config %s (from %s)", args.config, CONFIG_ENV)
    if args.command == "run":
        return asyncio.run(serve.run(args.config))
    if args.command == "check-config":
        # imported here: its connection probes load every transport, which `run` and the
        # other subcommands should not pay for at start-up
        from bot.cli.check import check_config

        return asyncio.run(check_config(args.config, args.connect))
    config = serve.owned(load_config(args.config))
    plugin_command: CliCommand | None = getattr(args, "plugin_command", None)
    if plugin_command is not None:
        return asyncio.run(serve.plugin_command(config, plugin_command, args))
    return asyncio.run(serve.db_upgrade(config))
