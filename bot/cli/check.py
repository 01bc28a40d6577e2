"""`deployday check-config [--connect]`: everything `run` would refuse or warn about,
found without starting; with --connect, the database and each network tried too."""

from __future__ import annotations

import sys
from pathlib import Path

from bot.cli.probe import probe_all
from bot.cli.serve import redact
from bot.config import Config
from bot.config.networks import IrcNetworkConfig
from bot.config.review import review
from bot.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from bot.loading import load_config


def plural(n: int, what: str) -> str:
    return f"{n} {what}" if n == 1 else f"{n} {what}s"


async def check_config(path: Path, connect: bool) -> int:
    config = load_config(path)
    found = review(config)
    for problem in found.errors:
        print(f"{path}: {problem}", file=sys.stderr)
    for warning in found.warnings:
        print(f"{path}: warning: {warning}", file=sys.stderr)
    if found.errors:
        return EXIT_USAGE
    print(f"{path}: OK — {summary(config)}")
    if not connect:
        return EXIT_OK
    worked = True
    for ok, line in await probe_all(config):
        print(line, file=sys.stdout if ok else sys.stderr)
        worked &= ok
    return EXIT_OK if worked else EXIT_FAILED


def summary(config: Config) -> str:
    nets = (
        ", ".join(
            f"{name} ({net.kind}, "
            + (
                plural(len(net.channels), "channel")
                if isinstance(net, IrcNetworkConfig)
                else plural(len(net.rooms), "room")
            )
            + ")"
            for name, net in config.networks.items()
        )
        or "none"
    )
    return (
        f"networks: {nets}; database: {redact(config.database)}; "
        f"timezone: {config.timezone}; admins: {len(config.admins)}"
    )
