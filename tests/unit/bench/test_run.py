"""The `make bench` driver: selection, skipping missing modules, crashes, and what it writes."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from bench import run as bench_run


def test_only_keeps_the_canonical_order_and_rejects_unknown_names():
    assert bench_run.parse_only(None) == list(bench_run.BENCHES)
    assert bench_run.parse_only("bargein, latency") == ["latency", "bargein"]
    with pytest.raises(ValueError, match="nope"):
        bench_run.parse_only("latency,nope")


def test_a_missing_module_is_skipped_but_a_broken_import_is_not():
    with pytest.raises(bench_run.MissingBench):
        bench_run.load_bench("does_not_exist_yet")


def fake_module(name: str, result: dict[str, Any] | Exception) -> types.ModuleType:
    module = types.ModuleType(f"bench.{name}")
    module.NAME = name  # type: ignore[attr-defined]

    async def run(out_dir: Path, *, quick: bool) -> dict[str, Any]:
        if isinstance(result, Exception):
            raise result
        return {**result, "notes": [f"quick={quick}"]}

    module.run = run  # type: ignore[attr-defined]
    return module


@pytest.fixture
def fake_benches(monkeypatch):
    good = {
        "name": "good",
        "targets": [{"name": "t", "target": "p95 <= 1 ms", "value": 2.0, "unit": "ms", "met": False}],
        "histograms": {"good latency": [1.0, 2.0, 3.0]},
        "samples": {"inf": float("inf")},
    }
    monkeypatch.setattr(bench_run, "BENCHES", ("good", "bad", "absent"))
    monkeypatch.setitem(sys.modules, "bench.good", fake_module("good", good))
    monkeypatch.setitem(sys.modules, "bench.bad", fake_module("bad", RuntimeError("boom")))


def test_main_writes_results_summary_and_histogram_and_fails_on_a_crash(tmp_path, fake_benches):
    assert bench_run.main(["--quick", "--out", str(tmp_path)]) == 1  # "bad" crashed
    good = json.loads((tmp_path / "good.json").read_text())
    assert good["notes"] == ["quick=True"] and good["meta"]["quick"] is True
    assert good["samples"] == {"inf": None}
    assert not (tmp_path / "bad.json").exists()
    summary = (tmp_path / "summary.md").read_text()
    assert "**1 of 1 targets missed:** good: t." in summary
    assert "## bad: crashed" in summary and "RuntimeError: boom" in summary
    assert "- absent: bench/absent.py does not exist yet" in summary
    assert (tmp_path / "latency_histogram.png").is_file()


def test_missed_targets_alone_exit_zero_and_earlier_results_stay_in_the_summary(tmp_path, fake_benches):
    assert bench_run.main(["--only", "good", "--out", str(tmp_path)]) == 0
    earlier = json.loads((tmp_path / "good.json").read_text())
    (tmp_path / "absent.json").write_text(json.dumps({**earlier, "name": "absent"}))
    assert bench_run.main(["--only", "good", "--out", str(tmp_path)]) == 0
    assert "## absent (from an earlier run" in (tmp_path / "summary.md").read_text()
