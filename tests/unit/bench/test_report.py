"""summary.md and the histogram from fake results: the report renders what the benchmarks measured."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from bench.report import (
    ResultShapeError,
    check_result,
    jsonable,
    markdown_table,
    render_histogram,
    render_summary,
)

FACTS = {"date": "2026-01-01 00:00:00 UTC", "git commit": "abc1234", "CPU": "Test CPU", "cores": "2"}


def fake_result(**overrides: Any) -> dict[str, Any]:
    result: dict[str, Any] = {
        "name": "latency",
        "targets": [
            {"name": "our overhead", "target": "p95 <= 10 ms", "value": 3.25, "unit": "ms", "met": True},
            {"name": "barge-in", "target": "p95 <= 150 ms", "value": 312.0, "unit": "ms", "met": False},
        ],
        "table": {"columns": ["part", "n", "p95"], "rows": [["overhead", 50, 3.25], ["a|b", 2, None]]},
        "notes": ["50 turns, one call at a time."],
        "histograms": {"response latency": [600.0, 620.0, 640.0, 700.0]},
        "meta": {"duration_s": 61.4, "quick": False},
    }
    result.update(overrides)
    return result


def test_summary_has_facts_verdict_targets_table_and_notes():
    text = render_summary([fake_result()], FACTS, histogram="latency_histogram.png")
    assert "| CPU | Test CPU |" in text
    assert "**1 of 2 targets missed:** latency: barge-in." in text
    assert "| our overhead | p95 <= 10 ms | 3.25 ms | met |" in text
    assert "| barge-in | p95 <= 150 ms | 312.0 ms | **MISSED** |" in text
    assert "| overhead | 50 | 3.25 |" in text
    assert "| a\\|b | 2 | - |" in text  # pipes escaped, missing values as a dash
    assert "- 50 turns, one call at a time." in text
    assert "Full run, 61 s." in text
    assert "(latency_histogram.png)" in text


def test_summary_reports_all_met_crashes_skips_and_earlier_results():
    met = fake_result(
        targets=[fake_result()["targets"][0]], meta={"earlier": True, "started_at": "yesterday"}
    )
    text = render_summary(
        [met],
        FACTS,
        crashed={"capacity": "Traceback ...\nRuntimeError: worker died"},
        skipped={"refresh": "bench/refresh.py does not exist yet"},
    )
    assert "**All 1 targets met.** **Crashed: capacity.**" in text
    assert "## latency (from an earlier run, yesterday)" in text
    assert "## capacity: crashed" in text and "RuntimeError: worker died" in text
    assert "- refresh: bench/refresh.py does not exist yet" in text


def test_markdown_table_formats_numbers():
    assert markdown_table(["a", "b"], [[0.01234, 1234.5], [12.345, True]]).splitlines() == [
        "| a | b |",
        "|---|---|",
        "| 0.012 | 1234 |",
        "| 12.3 | yes |",
    ]


@pytest.mark.parametrize(
    "bad",
    [
        [],
        {"name": "other", "targets": []},
        {"name": "latency"},
        {"name": "latency", "targets": [{"name": "x", "target": "p95 <= 1 ms", "value": 1}]},
        {"name": "latency", "targets": [{"name": "x", "target": "", "value": 1, "unit": "", "met": "yes"}]},
        {"name": "latency", "targets": [], "table": {"rows": []}},
        {"name": "latency", "targets": [], "notes": "not a list"},
    ],
)
def test_malformed_results_are_rejected(bad):
    with pytest.raises(ResultShapeError):
        check_result(bad, "latency")


def test_check_result_accepts_the_contract():
    check_result(fake_result(), "latency")
    check_result({"name": "latency", "targets": []}, "latency")


def test_jsonable_keeps_json_strict():
    assert jsonable({"a": [1.5, math.inf, float("nan")], "p": Path("x/y"), 3: (1, None)}) == {
        "a": [1.5, None, None],
        "p": "x/y",
        "3": [1, None],
    }


def test_histogram_png_is_written_only_with_data(tmp_path):
    path = render_histogram([fake_result(), {"name": "refresh", "targets": []}], tmp_path / "h.png")
    assert path == tmp_path / "h.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert render_histogram([fake_result(histograms={"empty": []})], tmp_path / "none.png") is None
    assert not (tmp_path / "none.png").exists()
