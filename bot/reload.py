"""SIGHUP: read the config file again and apply it without reconnecting. What only a
restart can change keeps its running value, and the log says so; a config with problems
is refused whole and the running one stays. systemd hears RELOADING, then READY."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from bot.config import ConfigError

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)

# What a reload cannot change under a running bot: the connections and the database are
# open, and the rate limits and plugin list were built from them.
RESTART_KEYS = (
    "database",
    "auto_migrate",
    "networks",
    "plugins",
    "coordination",
    "rate_limit",
    "timezone",
    "console",
)


async def reload(app: App) -> bool:
    if app.read_config is None:
        log.warning("SIGHUP: this bot was started without a config file to reload")
        return False
    app.notifier.send(reloading="1", monotonic_usec=str(time.monotonic_ns() // 1000))
    try:
        new = await asyncio.to_thread(app.read_config)
    except ConfigError as exc:
        log.error("config not reloaded, the running one stays: %s", "; ".join(exc.problems))
        app.notifier.send(ready="1", status="config not reloaded: it has problems")
        return False
    held = [k for k in RESTART_KEYS if getattr(new, k) != getattr(app.config, k)]
    await app.reconfigure(new, held)
    if held:
        log.warning(
            "config reloaded, except %s: those need a restart (the running ones stay)",
            ", ".join(held),
        )
    else:
        log.info("config reloaded")
    app.notifier.send(ready="1", status=f"serving {', '.join(app.transports)}")
    return True
