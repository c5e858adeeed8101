"""Percentiles, result rows, and the one table the bench prints."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (p99 of 2,000 samples is the 1,980th smallest)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


@dataclass
class Row:
    """One line of the table: our number, the comparison's, their ratio, the target."""

    case: str
    measure: str
    unit: str
    ours: float
    comparison: str = ""
    theirs: float | None = None
    target: str = ""
    met: bool | None = None
    note: str = ""
    rounds: list[float] = field(default_factory=list)  # ours per round (spread)
    theirs_rounds: list[float] = field(default_factory=list)

    @property
    def ratio(self) -> float | None:
        if self.theirs is None or self.theirs == 0:
            return None
        return self.ours / self.theirs

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio}


def fmt(value: float | None, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if unit == "ms" and value < 0.1:
        return f"{value * 1000:.1f} µs"
    if unit == "ms":
        text = f"{value:.2f}" if value < 10 else f"{value:.1f}"
    elif unit in ("s",):
        text = f"{value:.3f}"
    elif unit in ("MB",):
        text = f"{value:.0f}"
    elif value >= 100:
        text = f"{value:,.0f}"
    else:
        text = f"{value:.1f}"
    return f"{text} {unit}".strip()


def table(rows: Sequence[Row]) -> str:
    """A Markdown table (it reads fine in a terminal too)."""
    header = ("Case", "Measure", "Ours", "Comparison", "Theirs", "Ratio", "Target", "Met")
    lines = [header]
    for row in rows:
        ratio = row.ratio
        lines.append(
            (
                row.case,
                row.measure,
                fmt(row.ours, row.unit),
                row.comparison or "—",
                fmt(row.theirs, row.unit) if row.theirs is not None else "—",
                f"{ratio:.2f}×" if ratio is not None else "—",
                row.target or "—",
                {True: "yes", False: "NO", None: "—"}[row.met],
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for n, line in enumerate(lines):
        out.append("| " + " | ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)) + " |")
        if n == 0:
            out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(out)
