"""Percentiles, distribution summaries and target records shared by every benchmark.

Kept free of numpy and of any I/O so the numbers in the reports can be unit-tested exactly.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

SUMMARY_KEYS = ("n", "p50", "p95", "p99", "max", "mean")


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100) with linear interpolation between order statistics (numpy's default).

    None for no values: an empty distribution has no percentile, and 0 would read as "instant".
    """
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"percentile q must be in [0, 100], got {q}")
    ordered = sorted(values)
    if not ordered:
        return None
    position = (len(ordered) - 1) * q / 100.0
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    fraction = position - low
    return ordered[low] + (ordered[high] - ordered[low]) * fraction


def summarize(values: Iterable[float | None]) -> dict[str, float | int | None]:
    """n, p50, p95, p99, max, mean of the values that are present (None entries are skipped)."""
    present = [float(v) for v in values if v is not None and not math.isnan(v)]
    if not present:
        return {"n": 0, "p50": None, "p95": None, "p99": None, "max": None, "mean": None}
    return {
        "n": len(present),
        "p50": percentile(present, 50),
        "p95": percentile(present, 95),
        "p99": percentile(present, 99),
        "max": max(present),
        "mean": sum(present) / len(present),
    }


def rounded(value: float | int | None, digits: int = 1) -> float | int | None:
    """A number for JSON and tables: ints stay ints, floats get `digits` decimals, None stays None."""
    if value is None or isinstance(value, int):
        return value
    return round(value, digits)


def summary_row(label: Sequence[Any], summary: dict[str, float | int | None]) -> list[Any]:
    """A table row: the label cells, then the summary in SUMMARY_KEYS order."""
    return [*label, *(rounded(summary[key]) for key in SUMMARY_KEYS)]


def target(
    name: str,
    value: float | None,
    limit: float,
    unit: str,
    *,
    stat: str = "",
    at_most: bool = True,
) -> dict[str, Any]:
    """A target record as the report expects it ("p95 <= 10 ms"); a missing value is never met.

    A benchmark that measured nothing must not pass its target by default.
    """
    relation = "<=" if at_most else ">="
    met = value is not None and (value <= limit if at_most else value >= limit)
    return {
        "name": name,
        "target": " ".join(part for part in (stat, relation, f"{limit:g}", unit) if part),
        "value": rounded(value, 2),
        "unit": unit,
        "met": bool(met),
    }
