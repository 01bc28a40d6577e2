"""The suite's driver: presets, stage selection, servers, the table and the JSON file."""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bench
from bench import latency, matrix, scale, startup, throughput
from bench.machine import ROOT, describe, summary
from bench.peers import PEERS, Installed, install
from bench.report import Figure, skipped, table, write_json
from bench.servers import Ircd, Missing, ngircd, postgres, postgres_version

STAGES = ("roundtrip", "throughput", "startup", "matrix", "scale")
ON_IRC = ("roundtrip", "throughput", "startup")  # the stages the peers run in too


@dataclass(frozen=True)
class Preset:
    round_trips: int  # sequential commands of each kind per repetition
    warmup: int
    reps: int  # repetitions of every measurement; figures are their median
    clients: int
    commands: int  # per client and repetition
    incidents: int
    whole_log: bool  # also export the whole log once per format (flat memory)


FULL = Preset(1000, 50, 3, 4, 250, 100_000, True)
QUICK = Preset(100, 10, 3, 4, 50, 10_000, False)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description=bench.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="smaller N and a 10k-incident log: a minute or two instead of about ten",
    )
    p.add_argument(
        "--only",
        metavar="STAGE,…",
        default=",".join(STAGES),
        help=f"stages to run, comma-separated (default: all of {', '.join(STAGES)})",
    )
    p.add_argument(
        "--incidents", type=int, metavar="N", help="size of the generated log (scale stage)"
    )
    p.add_argument(
        "--json", type=Path, help="where to write the JSON (default: bench/results/<time>.json)"
    )
    p.add_argument("--keep", action="store_true", help="keep the working directory")
    return p


def _progress(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


class Suite:
    """Runs the chosen stages, collecting figures; a missing server skips its stages, a
    peer that does not install is left out."""

    def __init__(self, preset: Preset, stages: list[str], work: Path) -> None:
        self.preset, self.stages, self.work = preset, stages, work
        self.figures: list[Figure] = []
        self.postgres: str | None = None
        self.peers: list[Installed] = []
        self.peer_info: dict[str, dict[str, Any]] = {}

    def run(self) -> None:
        self.work.chmod(0o755)  # the peers may run as another user, in directories here
        for stage in self.stages:
            (self.work / stage).mkdir(mode=0o755)
        with ExitStack() as stack:
            ircd: Ircd | None = None
            if any(s in self.stages for s in ON_IRC):
                try:
                    ircd = stack.enter_context(ngircd())
                except Missing as exc:
                    self._skip(ON_IRC, str(exc))
            if ircd is not None:
                self._install_peers()
                if "roundtrip" in self.stages:
                    self._roundtrip(ircd)
                if "throughput" in self.stages:
                    self._throughput(ircd, stack)
                if "startup" in self.stages:
                    self._startup(ircd)
        if "matrix" in self.stages:
            self._matrix()
        if "scale" in self.stages:
            self._scale()

    def _skip(self, stages: tuple[str, ...], why: str) -> None:
        for stage in stages:
            if stage in self.stages:
                self.figures.append(skipped(stage, stage, why))

    def _install_peers(self) -> None:
        for peer in PEERS:
            found = install(peer, _progress)
            if isinstance(found, Installed):
                self.peers.append(found)
                self.peer_info[peer.key] = found.describe()
            else:
                _progress(f"{peer.name} skipped, its figures and ratios unavailable: {found}")
                self.peer_info[peer.key] = {"name": peer.name, "skipped": found}
                self.figures.append(skipped("peers", peer.name, found))
        if self.peers:
            _progress(f"peers: {peers_line(self.peer_info)}")

    def _roundtrip(self, ircd: Ircd) -> None:
        p = self.preset
        bots = len(self.peers) + 1
        _progress(f"round trip: {p.reps} x {bots} bots x {p.round_trips} each, sequential")
        self.figures += asyncio.run(
            latency.run(ircd, self.work / "roundtrip", p.round_trips, p.reps, p.warmup, self.peers)
        )

    def _throughput(self, ircd: Ircd, stack: ExitStack) -> None:
        p = self.preset
        admin: str | None = None
        try:
            admin = stack.enter_context(postgres())
        except Missing as exc:
            self.figures.append(skipped("throughput", "!note into PostgreSQL", str(exc)))
        if admin is not None:
            self.postgres = asyncio.run(postgres_version(admin))
        bots = len(self.peers) + (2 if admin else 1)
        _progress(f"throughput: {p.reps} x {bots} bots x {p.clients} clients x {p.commands}")
        self.figures += asyncio.run(
            throughput.run(
                ircd,
                self.work / "throughput",
                self.peers,
                clients=p.clients,
                commands=p.commands,
                reps=p.reps,
                pg_admin=admin,
            )
        )

    def _startup(self, ircd: Ircd) -> None:
        reps = self.preset.reps
        _progress(f"start-up: {reps} x (a restart of each peer, deployday's two starts)")
        self.figures += asyncio.run(startup.run(ircd, self.work / "startup", reps, self.peers))

    def _matrix(self) -> None:
        _progress(f"matrix start-up: {self.preset.reps} x 2 starts on Synapse")
        try:
            self.figures += matrix.run(self.work / "matrix", self.preset.reps)
        except Missing as exc:
            self._skip(("matrix",), str(exc))

    def _scale(self) -> None:
        p = self.preset
        _progress(f"scale: generating {p.incidents:,} incidents, then each command")
        self.figures += scale.run(self.work / "scale", p.incidents, p.reps, p.whole_log)


def peers_line(info: dict[str, dict[str, Any]]) -> str:
    """One line: each peer's version and Python, who it ran as, or why it was skipped."""
    parts = []
    for peer in info.values():
        if "skipped" in peer:
            parts.append(f"{peer['name']} skipped")
            continue
        user = f", as {peer['user']}" if peer["user"] else ""
        parts.append(
            f"{peer['name']} {peer['version']} {peer['command']} (Python {peer['python']}{user})"
        )
    return "; ".join(parts) + "; flood protection off"


def _timed(what: Callable[[], None]) -> float:
    started = time.perf_counter()
    what()
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    stages = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        print(f"unknown stage {unknown[0]!r}; stages are {', '.join(STAGES)}", file=sys.stderr)
        return 2
    preset = QUICK if args.quick else FULL
    if args.incidents:
        preset = Preset(**{**asdict(preset), "incidents": args.incidents})
    load_before = os.getloadavg()[0]
    if load_before > 0.5 * (os.cpu_count() or 1):
        _progress(f"warning: load average {load_before:.1f} before the start; figures suffer")
    work = Path(tempfile.mkdtemp(prefix="deployday-bench-"))
    suite = Suite(preset, stages, work)
    try:
        seconds = _timed(suite.run)
    finally:
        if args.keep:
            _progress(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    machine = describe(suite.postgres)
    machine["load_average"] = {"before": load_before, "after": os.getloadavg()[0]}
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = args.json or ROOT / "bench" / "results" / f"{stamp}{'-quick' if args.quick else ''}.json"
    options = {**asdict(preset), "quick": args.quick, "stages": stages, "seconds": seconds}
    write_json(path, machine, options, suite.peer_info, suite.figures)
    verdicts = [f.verdict for f in suite.figures if f.verdict]
    print(summary(machine))
    if suite.peer_info:
        print(f"peers: {peers_line(suite.peer_info)}")
    print(
        f"load average {load_before:.1f} before, {machine['load_average']['after']:.1f} after;"
        f" {seconds:.0f} s; every figure the median of {preset.reps} runs unless noted;"
        " 'vs Sopel': the figure over Sopel's of the same kind in this run\n"
    )
    print(table(suite.figures))
    print(
        f"\n{verdicts.count('PASS')} PASS, {verdicts.count('MISS')} MISS, "
        f"{verdicts.count('SKIP')} SKIP; JSON: {path}"
    )
    return 0
