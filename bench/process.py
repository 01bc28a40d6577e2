"""The bots under test as users run them, each in its own process: deployday as
`deployday run -c CONFIG`, the peers as bench.peers configures them; watched by a client
(joined yet?) and stopped by PID."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from bench.servers import Ircd
from bot.devtools.ircuser import IrcUser, Received

BOT_NICK = "deployday"
WAIT = 30.0


@dataclass(frozen=True)
class Bot:
    """One configured bot: the command that runs it in its directory, where its log goes."""

    name: str  # as the table shows it
    nick: str
    argv: tuple[str, ...]
    directory: Path
    env: Mapping[str, str] | None = None  # None: this process's environment

    @property
    def log(self) -> Path:
        return self.directory / "bot.log"

    def said(self, message: Received) -> bool:
        """Whether `message` came from this bot."""
        return message.sender.lower() == self.nick.lower()


def deployday_command() -> list[str]:
    """The console script next to this Python, as `make install` puts it in the venv."""
    script = Path(sys.executable).parent / "deployday"
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot.cli"]


def deployday(
    directory: Path,
    ircd: Ircd,
    database: str,
    channels: Sequence[str],
    nick: str = BOT_NICK,
) -> Bot:
    """deployday on `ircd` with its two brakes lifted to the highest values the config
    accepts, as the peers run with theirs off: the per-person rate limit (1,000 commands
    at once, 6,000 a minute) and the outgoing IRC send bucket (100,000 lines at once,
    1,000,000 a second). The figures are the bot's, not its brakes'."""
    config = {
        "database": database,
        "rate_limit": {"burst": 1000, "per_minute": 6000},
        "networks": {
            "bench": {
                "kind": "irc",
                "host": ircd.host,
                "port": ircd.port,
                "tls": False,
                "nick": nick,
                "channels": list(channels),
                "flood": {"burst": 100_000, "per_second": 1_000_000},
            }
        },
    }
    path = directory / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    argv = (*deployday_command(), "run", "-c", str(path))
    return Bot("deployday", nick, argv, directory, env=bytecode_cached())


def bytecode_cached() -> dict[str, str]:
    """This environment, but with Python free to cache compiled modules, as it is on a
    user's machine (and as the peers' pip-installed venvs are). Some shells here set
    PYTHONDONTWRITEBYTECODE=1, which would make every start compile the bot from source."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def launch(bot: Bot) -> subprocess.Popen[bytes]:
    """Start `bot`; its output goes to its log."""
    with open(bot.log, "ab") as log:
        return subprocess.Popen(
            bot.argv,
            cwd=bot.directory,
            env=bot.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def log_tail(bot: Bot, lines: int = 15) -> str:
    try:
        text = bot.log.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


async def joined(watcher: IrcUser, bot: Bot, channel: str, proc: subprocess.Popen[bytes]) -> None:
    """Until `watcher` (already in `channel`) sees `bot` join it; fails fast if the bot
    exits."""
    waiting = asyncio.create_task(
        watcher.wait_event(
            "join",
            lambda e: (
                watcher.fold(e.source.nick) == watcher.fold(bot.nick)
                and watcher.fold(str(e.target)) == watcher.fold(channel)
            ),
            timeout=WAIT,
        )
    )
    try:
        while not waiting.done():
            if proc.poll() is not None:
                raise RuntimeError(f"{bot.name} exited with {proc.returncode}")
            await asyncio.wait({waiting}, timeout=0.05)
        waiting.result()
    finally:
        waiting.cancel()


async def start(bot: Bot, ircd: Ircd, channels: Sequence[str]) -> subprocess.Popen[bytes]:
    """Launch `bot` and return once it is in every channel of `channels`."""
    watcher = await IrcUser.connect(ircd.host, ircd.port, f"watch{bot.nick}"[:30], timeout=WAIT)
    try:
        for channel in channels:
            await watcher.join(channel)
        proc = launch(bot)
        try:
            for channel in channels:
                await joined(watcher, bot, channel, proc)
        except Exception:
            stop(proc)
            raise RuntimeError(f"{bot.name} did not join:\n{log_tail(bot)}") from None
    finally:
        await watcher.quit()
    return proc


def stop(proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    """SIGTERM (a bot finishes in-flight commands), then SIGKILL after `timeout`."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
