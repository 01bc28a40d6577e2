"""Secrets and files (issue 11, reproduction 9): a bot logging at DEBUG against servers that
take a password (PASS) and SASL never writes either to its log; the database, its -wal,
-shm and lock files, digests and exports are owner-only under umask 022 (group-readable
with `file_mode: group`)."""

from __future__ import annotations

import asyncio
import base64
import itertools
import os
import signal
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.devtools.ircuser import IrcUser
from tests.servers.ircd import IrcServer
from tests.servers.support import run_bot, run_cli

pytestmark = pytest.mark.servers

WAIT = 30.0
_ids = itertools.count(1)


def irc_config(server: IrcServer, nick: str, channel: str, **extra: str) -> str:
    lines = "".join(f"    {key}: {value}\n" for key, value in extra.items())
    return (
        "database: sqlite:///bot.sqlite3\n"
        f"networks:\n  local:\n    kind: irc\n    host: {server.host}\n"
        f"    port: {server.port}\n    tls: false\n    nick: {nick}\n"
        f"    channels: ['{channel}']\n    password_env: DD_TEST_IRC_PASSWORD\n{lines}"
    )


async def debug_log_of(
    server: IrcServer, tmp_path: Path, nick: str, password: str, **extra: str
) -> str:
    """Run the bot at DEBUG until it is in its channel; everything it logged."""
    channel = f"#{nick}"
    config = tmp_path / f"{nick}.yaml"
    config.write_text(irc_config(server, nick, channel, **extra))
    watcher = await IrcUser.connect(server.host, server.port, f"w{nick}", password=server.password)
    await watcher.join(channel)
    env = {**os.environ, "DD_TEST_IRC_PASSWORD": password}
    log = tmp_path / f"{nick}.log"
    bot = await run_bot(config, env=env, log_level="DEBUG", log=log)
    try:
        await watcher.wait_event("join", lambda e: e.source.nick == nick, timeout=WAIT)
    finally:
        bot.send_signal(signal.SIGTERM)
        await asyncio.wait_for(bot.wait(), WAIT)
        await watcher.quit()
    text = log.read_text()
    assert bot.returncode == 0, text[-2000:]
    return text


async def test_no_password_or_sasl_payload_reaches_a_debug_log(
    inspircd: IrcServer, private_ircd: Callable[..., IrcServer], tmp_path: Path
) -> None:
    n = next(_ids)
    account, password = f"secretbot{n}", f"hunter2-{n}-sasl"
    registered = await inspircd.register_account(account, password)
    await registered.quit()
    log = await debug_log_of(inspircd, tmp_path, account, password, sasl_username=account)
    payload = base64.b64encode(f"{account}\0{account}\0{password}".encode()).decode()
    assert "AUTHENTICATE ***" in log  # the line went out, and was hidden in the log
    assert "SASL authentication successful" in log or " 903 " in log
    assert password not in log and payload not in log

    server_password = f"letmein-{n}-pass"
    guarded = private_ircd("miniircd", password=server_password)
    log = await debug_log_of(guarded, tmp_path, f"passbot{n}", server_password)
    assert "PASS ***" in log
    assert server_password not in log


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_files_are_owner_only_whatever_the_umask(miniircd: IrcServer, tmp_path: Path) -> None:
    n = next(_ids)
    nick, channel = f"filebot{n}", f"#files{n}"
    config = tmp_path / "config.yaml"
    config.write_text(
        irc_config(miniircd, nick, channel).replace("    password_env: DD_TEST_IRC_PASSWORD\n", "")
    )
    watcher = await IrcUser.connect(miniircd.host, miniircd.port, f"wf{n}")
    await watcher.join(channel)
    old = os.umask(0o022)
    try:
        bot = await run_bot(config)
    finally:
        os.umask(old)
    try:
        await watcher.wait_event("join", lambda e: e.source.nick == nick, timeout=WAIT)
        database = tmp_path / "bot.sqlite3"
        for name in ("bot.sqlite3", "bot.sqlite3-wal", "bot.sqlite3-shm", "bot.sqlite3.lock"):
            assert mode(tmp_path / name) == 0o600, name
    finally:
        bot.send_signal(signal.SIGTERM)
        await asyncio.wait_for(bot.communicate(), WAIT)
        await watcher.quit()

    script = "deploy start pkgdb2\nbreak pkgdb down\ndeploy end\nexport md\n"
    code, _, err = await run_cli("console", "-c", str(config), stdin=script, umask=0o022)
    assert code == 0, err
    digest, export = (next((tmp_path / d).iterdir()) for d in ("digests", "exports"))
    assert mode(database) == 0o600
    assert [mode(tmp_path / d) for d in ("digests", "exports")] == [0o700, 0o700]
    assert [mode(digest), mode(export)] == [0o600, 0o600]

    config.write_text(config.read_text() + "file_mode: group\n")
    code, _, err = await run_cli("console", "-c", str(config), stdin=script, umask=0o022)
    assert code == 0, err
    newest = max((tmp_path / "exports").iterdir(), key=lambda p: p.stat().st_mtime)
    assert [mode(database), mode(newest)] == [0o640, 0o640]
