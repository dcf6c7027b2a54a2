"""Figures, targets and the JSON summary every benchmark prints and writes to var/bench/."""

from __future__ import annotations

import json
import operator
import os
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path("var/bench")
_OPS = {"<=": operator.le, ">=": operator.ge}


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages (other work shares these cores)."""
    return [round(x, 2) for x in os.getloadavg()]


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), linear between the closest ranks."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    rank = (len(ordered) - 1) * q / 100.0
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


@dataclass
class Figure:
    """One measured figure against its target (`op` is `<=` or `>=`)."""

    name: str
    measured: float
    op: str
    target: float
    unit: str
    runs: list[float] = field(default_factory=list)
    """The figure of each repeated run; `measured` is their median."""

    @property
    def passed(self) -> bool:
        return bool(_OPS[self.op](self.measured, self.target))

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "target": f"{self.op} {self.target:g} {self.unit}".strip(),
                "pass": "pass" if self.passed else "miss"}


def figure(name: str, runs: Sequence[float], op: str, target: float, unit: str,
           digits: int = 1) -> Figure:
    """The median of `runs` as a Figure (each run's own value kept beside it)."""
    return Figure(name, round(median(runs), digits), op, target, unit,
                  [round(r, digits) for r in runs])


@dataclass
class Report:
    """What one benchmark found; `finish()` prints it as JSON and writes var/bench/<name>.json."""

    name: str
    command: str
    quick: bool = False
    figures: list[Figure] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    started: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    load_before: list[float] = field(default_factory=load_average)

    def add(self, fig: Figure) -> Figure:
        self.figures.append(fig)
        return fig

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "command": self.command, "quick": self.quick,
            "date": self.started, "load_average": {"before": self.load_before,
                                                   "after": load_average()},
            "figures": [f.as_dict() for f in self.figures], "details": self.details,
        }

    def finish(self, out_dir: Path | None = None) -> dict[str, Any]:
        doc = self.as_dict()
        out_dir = out_dir or BENCH_DIR
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / f"{self.name}.json").write_text(json.dumps(doc, indent=2) + "\n")
        print(json.dumps(doc), flush=True)
        return doc
