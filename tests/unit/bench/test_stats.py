"""Percentiles, summaries and target records of the benchmark reports (pure arithmetic, nothing timed)."""

from __future__ import annotations

import numpy as np
import pytest

from bench.stats import percentile, summarize, summary_row, target


@pytest.mark.parametrize("q", [0, 1, 25, 50, 90, 95, 99, 100])
def test_percentile_matches_numpys_linear_interpolation(q):
    values = [12.0, 3.5, 7.0, 100.0, 41.0, 8.25, 0.0, 19.0, 19.0, 64.0, 2.0]
    assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))


def test_percentile_edges():
    assert percentile([], 95) is None
    assert percentile([5.0], 99) == 5.0
    assert percentile(range(1, 101), 95) == pytest.approx(95.05)
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_summarize_skips_missing_values():
    summary = summarize([10.0, None, 20.0, 30.0, float("nan"), 40.0])
    assert summary == {"n": 4, "p50": 25.0, "p95": pytest.approx(38.5), "p99": pytest.approx(39.7),
                       "max": 40.0, "mean": 25.0}  # fmt: skip
    assert summarize([None]) == {"n": 0, "p50": None, "p95": None, "p99": None, "max": None, "mean": None}


def test_summary_row_rounds_for_tables():
    assert summary_row(["instant", "overhead"], summarize([1.234, 5.678])) == [
        "instant", "overhead", 2, 3.5, 5.5, 5.6, 5.7, 3.5,
    ]  # fmt: skip


def test_target_records():
    assert target("our overhead", 4.567, 10, "ms", stat="p95") == {
        "name": "our overhead",
        "target": "p95 <= 10 ms",
        "value": 4.57,
        "unit": "ms",
        "met": True,
    }
    assert target("barge-in", 151.0, 150, "ms", stat="p95")["met"] is False
    assert target("calls per core", 120, 100, "calls", at_most=False)["target"] == ">= 100 calls"
    assert target("misses", 0, 0, "", stat="misses")["target"] == "misses <= 0"
    # Nothing measured never passes.
    assert target("our overhead", None, 10, "ms")["met"] is False
