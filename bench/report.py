"""Figures, their targets and verdicts, each beside Sopel's figure of the same kind in
the same run; the terminal table and the JSON file."""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

Verdict = Literal["PASS", "MISS", "SKIP"]


def quantile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between the closest ranks (numpy's default)."""
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


@dataclass
class Figure:
    """One reported number: the median of `runs`, with what it is compared to."""

    stage: str
    label: str
    unit: str
    runs: list[float]
    reference: str = ""  # the floor or baseline beside it
    target: str = ""
    verdict: Verdict | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    sopel: float | None = None  # Sopel's figure of the same kind in the same run

    @property
    def value(self) -> float | None:
        return median(self.runs) if self.runs else None

    @property
    def ratio(self) -> float | None:
        """This figure over Sopel's (a rate over a rate, a time over a time)."""
        if self.value is None or not self.sopel:
            return None
        return self.value / self.sopel

    def judge(self, passed: bool) -> Figure:
        self.verdict = "PASS" if passed else "MISS"
        return self

    def judge_ratio(self, limit: float, *, at_least: bool = False, also: bool = True) -> Figure:
        """A target relative to Sopel: ratio <= `limit` (>= with `at_least`) and `also`;
        SKIP when this run has no Sopel figure to compare with."""
        self.target = f"{'>=' if at_least else '<='} {limit:g}x Sopel"
        ratio = self.ratio
        if ratio is None:
            self.verdict = "SKIP"
            self.note = self.note or "no Sopel figure in this run"
            return self
        return self.judge((ratio >= limit if at_least else ratio <= limit) and also)

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "value": self.value, "ratio_to_sopel": self.ratio}


def skipped(stage: str, label: str, why: str) -> Figure:
    return Figure(stage, label, "", [], verdict="SKIP", note=why)


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit in ("cmd/s", "rows/s"):
        return f"{value:,.0f} {unit}"
    if unit == "ms":
        return f"{value:.2f} ms" if value < 100 else f"{value:,.0f} ms"
    if unit in ("s", "MiB"):
        return f"{value:,.2f} {unit}" if value < 10 else f"{value:,.1f} {unit}"
    return f"{value:g} {unit}".strip()


def _times(ratio: float | None) -> str:
    if ratio is None:
        return ""
    return f"{ratio:.2f}x" if ratio < 10 else f"{ratio:.1f}x"


def table(figures: Sequence[Figure]) -> str:
    """Aligned rows grouped by stage, each figure beside its ratio to Sopel's; notes
    (skips, run counts) under their row."""
    header = ("figure", "value", "vs Sopel", "floor / reference", "target", "")
    rows: list[tuple[str, ...]] = []
    notes: dict[int, str] = {}
    stage = None
    for f in figures:
        if f.stage != stage:
            stage = f.stage
            rows.append((f"[{stage}]", "", "", "", "", ""))
        if f.note:
            notes[len(rows)] = f.note
        rows.append(
            (
                f.label,
                fmt(f.value, f.unit),
                _times(f.ratio),
                f.reference,
                f.target,
                f.verdict or "",
            )
        )
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for i, row in enumerate(rows):
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if i in notes:
            lines.append(f"    ({notes[i]})")
    return "\n".join(lines)


def write_json(
    path: Path,
    machine: dict[str, Any],
    options: dict[str, Any],
    peers: dict[str, Any],
    figures: Sequence[Figure],
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "machine": machine,
        "options": options,
        "peers": peers,
        "figures": [f.as_json() for f in figures],
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
