"""The bot as users run it: `deployday run -c CONFIG` in its own process, watched by a
client (joined yet?) and stopped by PID."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml

from bench.servers import Ircd
from bot.devtools.ircuser import IrcUser

BOT_NICK = "deployday"
WAIT = 30.0


def deployday_command() -> list[str]:
    """The console script next to this Python, as `make install` puts it in the venv."""
    script = Path(sys.executable).parent / "deployday"
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot.cli"]


def write_config(
    directory: Path,
    ircd: Ircd,
    database: str,
    channels: Sequence[str],
) -> Path:
    """A config on `ircd` with both brakes at the highest values the config accepts: the
    per-person rate limit (1,000 commands at once, 6,000 a minute) and the outgoing IRC
    send bucket (100,000 lines at once, 1,000,000 a second). The figures are the bot's,
    not its brakes'."""
    config = {
        "database": database,
        "rate_limit": {"burst": 1000, "per_minute": 6000},
        "networks": {
            "bench": {
                "kind": "irc",
                "host": ircd.host,
                "port": ircd.port,
                "tls": False,
                "nick": BOT_NICK,
                "channels": list(channels),
                "flood": {"burst": 100_000, "per_second": 1_000_000},
            }
        },
    }
    path = directory / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def launch(config: Path) -> subprocess.Popen[bytes]:
    """Start `deployday run`; its log goes beside the config."""
    with open(config.parent / "deployday.log", "ab") as log:
        return subprocess.Popen(
            [*deployday_command(), "run", "-c", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def log_tail(config: Path, lines: int = 15) -> str:
    try:
        text = (config.parent / "deployday.log").read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


async def joined(watcher: IrcUser, channel: str, proc: subprocess.Popen[bytes]) -> None:
    """Until `watcher` (already in `channel`) sees the bot join it; fails fast if the
    bot exits."""
    waiting = asyncio.create_task(
        watcher.wait_event(
            "join",
            lambda e: (
                watcher.fold(e.source.nick) == watcher.fold(BOT_NICK)
                and watcher.fold(str(e.target)) == watcher.fold(channel)
            ),
            timeout=WAIT,
        )
    )
    try:
        while not waiting.done():
            if proc.poll() is not None:
                raise RuntimeError(f"deployday exited with {proc.returncode}")
            await asyncio.wait({waiting}, timeout=0.05)
        waiting.result()
    finally:
        waiting.cancel()


async def start(config: Path, ircd: Ircd, channels: Sequence[str]) -> subprocess.Popen[bytes]:
    """Launch the bot and return once it is in every channel of `channels`."""
    watcher = await IrcUser.connect(ircd.host, ircd.port, "watcher", timeout=WAIT)
    try:
        for channel in channels:
            await watcher.join(channel)
        proc = launch(config)
        try:
            for channel in channels:
                await joined(watcher, channel, proc)
        except Exception:
            stop(proc)
            raise RuntimeError(f"the bot did not join:\n{log_tail(config)}") from None
    finally:
        await watcher.quit()
    return proc


def stop(proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    """SIGTERM (the bot finishes in-flight commands), then SIGKILL after `timeout`."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
