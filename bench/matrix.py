"""Stage 5: the start-up cost of end-to-end encryption. From `deployday run -c …` to the
bot's join seen by someone already in the Matrix room, and the bot's resident memory once
it idles there, with `encryption: false` and with `encryption: true` (a new database and
key store each time: login, keys made and uploaded, then the join), on a local Synapse.
The method is the IRC start-up stage's (bench/startup.py)."""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path
from typing import Any

import yaml

from bench import process
from bench.report import Figure
from bench.servers import Missing
from bench.startup import SETTLE_S, Sample, timed_start
from tests.servers.synapse import Homeserver, MatrixUser, running_homeserver

PASSWORD_ENV = "DEPLOYDAY_BENCH_MATRIX_PASSWORD"


def _bot(
    directory: Path, homeserver: Homeserver, user_id: str, password: str, room: str, e2e: bool
) -> process.Bot:
    """deployday on `homeserver` as `user_id` (password in the environment, as in use)."""
    network: dict[str, Any] = {
        "kind": "matrix",
        "homeserver": homeserver.url,
        "user_id": user_id,
        "password_env": PASSWORD_ENV,
        "rooms": [room],
    }
    if e2e:
        network |= {"encryption": True, "device_id": "BENCHBOT", "store_path": "keys"}
    config = {"database": "sqlite:///bot.sqlite3", "networks": {"bench": network}}
    path = directory / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    argv = (*process.deployday_command(), "run", "-c", str(path))
    env = {**process.bytecode_cached(), PASSWORD_ENV: password}
    return process.Bot("deployday", user_id, argv, directory, env)


async def _start_once(homeserver: Homeserver, directory: Path, e2e: bool) -> Sample:
    """One start on a new account, to its join in a room made for it."""
    localpart = homeserver.unique("bench")
    user_id = await homeserver.register(localpart, localpart)
    watcher = await homeserver.user("watcher")
    try:
        room = await watcher.create_room(invite=(user_id,), encrypted=e2e)
        bot = _bot(directory, homeserver, user_id, localpart, room, e2e)
        return await timed_start(bot, lambda proc: _joined(watcher, room, user_id, proc.poll))
    finally:
        await watcher.close()


async def _joined(watcher: MatrixUser, room: str, user_id: str, exited: Any) -> None:
    waiting = asyncio.ensure_future(watcher.wait_membership(room, user_id, "join", process.WAIT))
    try:
        while not waiting.done():
            if exited() is not None:
                raise RuntimeError("deployday exited")
            await asyncio.wait({waiting}, timeout=0.05)
        waiting.result()
    finally:
        waiting.cancel()


async def _measure(homeserver: Homeserver, work: Path, runs: int) -> list[Figure]:
    samples: dict[bool, list[Sample]] = {False: [], True: []}
    for e2e in (False, True):  # unmeasured: leaves the compiled modules cached, as in use
        directory = work / f"warm-up-{'e2e' if e2e else 'plain'}"
        directory.mkdir(parents=True)
        await _start_once(homeserver, directory, e2e)
    for rep in range(runs):
        for e2e in (False, True):
            directory = work / f"{'e2e' if e2e else 'plain'}{rep}"
            directory.mkdir(parents=True)
            samples[e2e].append(await _start_once(homeserver, directory, e2e))
    figures = []
    for e2e, label in ((False, "encryption: false"), (True, "encryption: true")):
        figures.append(
            Figure("matrix", f"start to joined, {label}", "s", [s for s, _ in samples[e2e]])
        )
        figures.append(
            Figure(
                "matrix",
                f"idle RSS, {label}",
                "MiB",
                [m for _, m in samples[e2e]],
                reference=f"VmRSS {SETTLE_S:g} s after joining",
            )
        )
    return figures


def run(work: Path, runs: int) -> list[Figure]:
    if importlib.util.find_spec("synapse") is None:
        raise Missing("matrix-synapse is not installed: pip install -e '.[test]'")
    if importlib.util.find_spec("vodozemac") is None:
        raise Missing("the e2e extra is not installed: pip install -e '.[e2e]'")
    with running_homeserver() as homeserver:
        return asyncio.run(_measure(homeserver, work, runs))
