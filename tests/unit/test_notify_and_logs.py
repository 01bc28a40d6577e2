"""The systemd notify datagrams and the log formats, each against the real thing: a
datagram socket the test binds, a log file the test reads."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
from pathlib import Path

import pytest

from bot.logs import setup_logging
from bot.notify import Notifier


def test_notify_sends_one_datagram_per_call_to_a_path_socket(tmp_path: Path) -> None:
    path = str(tmp_path / "notify")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(path)
        notifier = Notifier.from_environment({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "3000000"})
        notifier.send(ready="1", status="serving libera")
        notifier.send(watchdog="1")
        assert listener.recv(4096) == b"READY=1\nSTATUS=serving libera"
        assert listener.recv(4096) == b"WATCHDOG=1"
    assert notifier.watchdog_interval == 1.5  # half of WATCHDOG_USEC


def test_notify_reaches_an_abstract_socket() -> None:
    name = f"deployday-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind("\0" + name)
        Notifier.from_environment({"NOTIFY_SOCKET": "@" + name}).send(stopping="1")
        assert listener.recv(4096) == b"STOPPING=1"


def test_without_systemd_nothing_is_sent_and_a_watchdog_for_another_pid_is_not_ours() -> None:
    assert not Notifier.from_environment({}).enabled
    Notifier.from_environment({}).send(ready="1")  # no socket: nothing to do, no error
    theirs = {"NOTIFY_SOCKET": "/nonexistent", "WATCHDOG_USEC": "1000", "WATCHDOG_PID": "1"}
    assert Notifier.from_environment(theirs).watchdog_interval is None


def test_a_vanished_socket_is_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    Notifier(str(tmp_path / "gone")).send(ready="1")
    assert "cannot notify systemd" in caplog.text


def test_json_log_lines_to_a_file(tmp_path: Path) -> None:
    log_file = tmp_path / "deployday.log"
    setup_logging("INFO", "json", log_file)
    try:
        logging.getLogger("deployday").info("deployday started: %s", "libera")
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("bot.app").exception("it failed")
        logging.getLogger("deployday").debug("not at INFO")
    finally:
        setup_logging("WARNING")
    entries = [json.loads(line) for line in log_file.read_text().splitlines()]
    assert [(e["level"], e["logger"], e["message"]) for e in entries] == [
        ("INFO", "deployday", "deployday started: libera"),
        ("ERROR", "bot.app", "it failed"),
    ]
    assert "ValueError: boom" in entries[1]["exc"]
    assert entries[0]["time"].endswith("+00:00")


async def test_the_watchdog_is_fed_only_while_the_database_answers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.notify")
    path = str(tmp_path / "notify")
    calls = 0

    async def database_answers() -> None:
        nonlocal calls
        calls += 1
        if calls <= 3:
            raise OSError("database is locked")

    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(path)
        listener.setblocking(False)
        notifier = Notifier.from_environment({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "20000"})
        feeding = asyncio.create_task(notifier.watchdog(database_answers))
        try:
            async with asyncio.timeout(10):
                first = await asyncio.get_running_loop().sock_recv(listener, 4096)
        finally:
            feeding.cancel()
    assert first == b"WATCHDOG=1"
    assert calls == 4  # three failed checks, no ping; the fourth answered
    complaints = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert complaints == [
        "the database does not answer (database is locked); not telling systemd all is well"
    ]
    assert "the database answers again" in caplog.text
