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

import bench
from bench import latency, matrix, scale, startup, throughput
from bench.machine import ROOT, describe, summary
from bench.report import Figure, skipped, table, write_json
from bench.servers import Ircd, Missing, ngircd, postgres, postgres_version

STAGES = ("roundtrip", "throughput", "startup", "matrix", "scale")


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
    """Runs the chosen stages, collecting figures; a missing server skips its stages."""

    def __init__(self, preset: Preset, stages: list[str], work: Path) -> None:
        self.preset, self.stages, self.work = preset, stages, work
        self.figures: list[Figure] = []
        self.postgres: str | None = None

    def run(self) -> None:
        for stage in self.stages:
            (self.work / stage).mkdir()
        with ExitStack() as stack:
            ircd: Ircd | None = None
            if any(s in self.stages for s in ("roundtrip", "throughput", "startup")):
                try:
                    ircd = stack.enter_context(ngircd())
                except Missing as exc:
                    self._skip(("roundtrip", "throughput", "startup"), str(exc))
            if ircd is not None:
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

    def _roundtrip(self, ircd: Ircd) -> None:
        p = self.preset
        _progress(f"round trip: {p.reps} x {p.round_trips} of each, sequential")
        self.figures += asyncio.run(
            latency.run(ircd, self.work / "roundtrip", p.round_trips, p.reps, p.warmup)
        )

    def _throughput(self, ircd: Ircd, stack: ExitStack) -> None:
        p = self.preset

        def measure(backend: str, admin: str | None) -> list[Figure]:
            _progress(f"throughput into {backend}: {p.reps} x {p.clients} x {p.commands}")
            (self.work / "throughput" / backend).mkdir()
            return asyncio.run(
                throughput.run(
                    ircd,
                    self.work / "throughput" / backend,
                    backend,
                    clients=p.clients,
                    commands=p.commands,
                    reps=p.reps,
                    pg_admin=admin,
                )
            )

        self.figures += measure("sqlite", None)
        try:
            admin = stack.enter_context(postgres())
        except Missing as exc:
            self.figures.append(skipped("throughput", "!note into PostgreSQL", str(exc)))
            return
        self.postgres = asyncio.run(postgres_version(admin))
        self.figures += measure("postgresql", admin)

    def _startup(self, ircd: Ircd) -> None:
        _progress(f"start-up: {self.preset.reps} x 2 starts")
        self.figures += asyncio.run(startup.run(ircd, self.work / "startup", self.preset.reps))

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
    write_json(path, machine, options, suite.figures)
    verdicts = [f.verdict for f in suite.figures if f.verdict]
    print(summary(machine))
    print(
        f"load average {load_before:.1f} before, {machine['load_average']['after']:.1f} after;"
        f" {seconds:.0f} s; every figure the median of {preset.reps} runs unless noted\n"
    )
    print(table(suite.figures))
    print(
        f"\n{verdicts.count('PASS')} PASS, {verdicts.count('MISS')} MISS, "
        f"{verdicts.count('SKIP')} SKIP; JSON: {path}"
    )
    return 0
