"""The peers deployday is measured beside, on the same ngircd in the same run: Sopel 8
with its built-in `.ping` and Limnoria with its Misc plugin's `ping`.

Each comes from PyPI into a venv of its own under bench/.peers/ (git-ignored), made by
the first run that needs it and reused after; a peer whose install fails is skipped
with one line, and the figures it would have been compared with say so. Both run with
their own flood protection and pacing off (ngircd's flood penalty is off too), so the
figures are the bots', not their brakes'. Both refuse to run as root: when the bench is
root they run as `nobody`, in directories that user owns.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.machine import ROOT
from bench.process import Bot
from bench.servers import Ircd
from tests.servers.support import IS_ROOT, as_user

PEERS_DIR = ROOT / "bench" / ".peers"
RUN_AS = "nobody"
RUN_AS_GROUP = "nogroup"
STAMP = "bench-stamp.json"
MIN_PYTHON = (3, 10)

SOPEL_CONFIG = """\
[core]
nick = {nick}
user = {nick}
name = {nick}
host = {host}
port = {port}
use_ssl = false
owner = bench
channels = "{channel}"
homedir = {directory}
logdir = {directory}/logs
pid_dir = {directory}
enable = ping
flood_burst_lines = 1000000
flood_refill_rate = 1000000
flood_empty_wait = 0
flood_max_wait = 0
flood_penalty_ratio = 0
antiloop_threshold = 0
"""

LIMNORIA_CONFIG = """\
supybot.nick: {nick}
supybot.ident: {nick}
supybot.user: {nick}
supybot.networks: bench
supybot.networks.bench.servers: {host}:{port}
supybot.networks.bench.ssl: False
supybot.networks.bench.channels: {channel}
supybot.plugins: Misc Owner
supybot.plugins.Misc: True
supybot.plugins.Owner: True
supybot.reply.whenAddressedBy.chars: !
supybot.abuse.flood.command: False
supybot.abuse.flood.command.invalid: False
supybot.protocols.irc.throttleTime: 0.0
supybot.directories.conf: {directory}/conf
supybot.directories.data: {directory}/data
supybot.directories.data.tmp: {directory}/data/tmp
supybot.directories.data.web: {directory}/data/web
supybot.directories.backup: {directory}/backup
supybot.directories.log: {directory}/logs
supybot.directories.plugins: {directory}/plugins
supybot.log.stdout.level: WARNING
"""
LIMNORIA_DATABASES = ("users.conf", "channels.conf", "networks.conf", "ignores.conf")


def _sopel(directory: Path, ircd: Ircd, nick: str, channel: str) -> tuple[str, ...]:
    """The built-in ping plugin alone; flood protection off (no burst limit, no wait, no
    penalty for long lines) and the anti-loop check off (every answer is `Pong!`)."""
    config = directory / "sopel.cfg"
    config.write_text(
        SOPEL_CONFIG.format(
            nick=nick, host=ircd.host, port=ircd.port, channel=channel, directory=directory
        )
    )
    return ("sopel", "start", "--config", str(config))


def _limnoria(directory: Path, ircd: Ircd, nick: str, channel: str) -> tuple[str, ...]:
    """Misc (for `ping`) and Owner (always loaded); command-flood protection off, for
    valid and invalid commands, and no pause between queued lines (throttleTime 0).
    Empty databases, as its first start would leave them."""
    config = directory / "limnoria.conf"
    config.write_text(
        LIMNORIA_CONFIG.format(
            nick=nick, host=ircd.host, port=ircd.port, channel=channel, directory=directory
        )
    )
    (directory / "conf").mkdir(exist_ok=True)
    for name in LIMNORIA_DATABASES:
        (directory / "conf" / name).touch()
    (directory / "plugins").mkdir(exist_ok=True)
    return ("limnoria", str(config))


@dataclass(frozen=True)
class Peer:
    key: str  # its venv's directory, its nick, its channel's name and its JSON key
    name: str
    requirement: str  # what pip installs
    distribution: str  # whose version is reported
    module: str  # imported to check the install
    command: str  # sent in its channel and in a private message
    pong: str  # every answer to `command` ends with this
    configure: Callable[[Path, Ircd, str, str], tuple[str, ...]]  # the venv script and args

    @property
    def channel(self) -> str:
        return f"#{self.key}"


SOPEL = Peer("sopel", "Sopel", "sopel==8.*", "sopel", "sopel", ".ping", "Pong!", _sopel)
LIMNORIA = Peer(
    "limnoria", "Limnoria", "limnoria", "limnoria", "supybot", "!ping", "pong", _limnoria
)
PEERS = (SOPEL, LIMNORIA)


@dataclass(frozen=True)
class Installed:
    """A peer ready to run: its venv, and the versions it reported as the user it runs as."""

    peer: Peer
    venv: Path
    version: str
    python: str

    @property
    def name(self) -> str:
        return f"{self.peer.name} {self.version}"

    def bot(self, directory: Path, ircd: Ircd, channel: str) -> Bot:
        """Configured in `directory` (made, and given to RUN_AS when the bench is root) to
        join `channel` on `ircd`."""
        directory.mkdir(parents=True, exist_ok=True)
        script, *args = self.peer.configure(directory, ircd, self.peer.key, channel)
        if IS_ROOT:
            for path in (directory, *directory.rglob("*")):
                shutil.chown(path, RUN_AS, RUN_AS_GROUP)
        argv = as_user(RUN_AS, [str(self.venv / "bin" / script), *args])
        env = {**os.environ, "HOME": str(directory)}
        return Bot(self.name, self.peer.key, tuple(argv), directory, env)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.peer.name,
            "version": self.version,
            "requirement": self.peer.requirement,
            "python": self.python,
            "command": self.peer.command,
            "venv": str(self.venv),
            "user": RUN_AS if IS_ROOT else None,
        }


def _probe(peer: Peer, venv: Path) -> Installed | None:
    """The installed peer, if its venv's Python imports it as the user it runs as."""
    script = (
        f"import importlib.metadata, json, platform, {peer.module}; "
        f"print(json.dumps([importlib.metadata.version({peer.distribution!r}), "
        "platform.python_version()]))"
    )
    done = subprocess.run(
        as_user(RUN_AS, [str(venv / "bin" / "python"), "-c", script]),
        capture_output=True,
        text=True,
        cwd="/",
        check=False,
    )
    if done.returncode != 0:
        return None
    version, python = json.loads(done.stdout)
    return Installed(peer, venv, version, python)


def _interpreter() -> str | None:
    """A Python to make the venv with that RUN_AS can run when the bench is root: the
    one running the bench if it can (the same Python as deployday's), else the
    system's."""
    candidates = (getattr(sys, "_base_executable", None), "/usr/bin/python3")
    check = f"import ensurepip, sys, venv; sys.exit(sys.version_info < {MIN_PYTHON!r})"
    for candidate in candidates:
        if candidate is None or not os.path.exists(candidate):
            continue
        python = os.path.realpath(candidate)
        runs = subprocess.run(
            as_user(RUN_AS, [python, "-c", check]), capture_output=True, cwd="/", check=False
        )
        if runs.returncode == 0:
            return python
    return None


def _create(peer: Peer, venv: Path, log: Path) -> str | None:
    """Make the venv and pip-install the peer into it; why not, if it failed."""
    python = _interpreter()
    if python is None:
        who = f" that {RUN_AS} can run" if IS_ROOT else ""
        version = ".".join(map(str, MIN_PYTHON))
        return f"no Python >= {version} with venv and ensurepip{who} (apt-get install python3-venv)"
    shutil.rmtree(venv, ignore_errors=True)
    venv.parent.mkdir(parents=True, exist_ok=True)
    steps = (
        ("python -m venv", [python, "-m", "venv", str(venv)]),
        (
            f"pip install {peer.requirement}",
            [
                str(venv / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                peer.requirement,
            ],
        ),
    )
    with open(log, "w") as out:
        for what, argv in steps:
            done = subprocess.run(
                argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, "PIP_ROOT_USER_ACTION": "ignore"},
                check=False,
            )
            if done.returncode != 0:
                return f"{what} exited with {done.returncode}; log: {log}"
    (venv / STAMP).write_text(json.dumps({"requirement": peer.requirement, "python": python}))
    return None


def _reusable(peer: Peer, venv: Path) -> bool:
    try:
        stamp = json.loads((venv / STAMP).read_text())
    except (OSError, ValueError):
        return False
    return stamp.get("requirement") == peer.requirement


def install(peer: Peer, progress: Callable[[str], None]) -> Installed | str:
    """The peer from its venv, made now if there is none yet (or it no longer runs); else
    why it is skipped."""
    venv = PEERS_DIR / peer.key
    if _reusable(peer, venv) and (found := _probe(peer, venv)) is not None:
        return found
    where = venv.relative_to(ROOT)
    progress(f"installing {peer.name} ({peer.requirement}) from PyPI into {where}, once")
    why = _create(peer, venv, PEERS_DIR / f"{peer.key}-install.log")
    if why is None:
        found = _probe(peer, venv)
        if found is not None:
            return found
        why = f"installed, but {RUN_AS if IS_ROOT else 'its Python'} cannot import it from {venv}"
    shutil.rmtree(venv, ignore_errors=True)
    return why
