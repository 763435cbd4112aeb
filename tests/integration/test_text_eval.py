"""`switchboard eval --text` over the shipped suites: the caller's words as text through the cascade's own
brain/tool loop, real tools on the embedded Redis (understanding alone, no audio). Deterministic, so it gates
understanding in CI: the tuned suites stay at their pass rate, and no suite (the held-out ones included) may
ever hang up or transfer wrongly. The held-out suites' pass rate is reported, never asserted: they measure."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from apps.evals.cli import main as eval_main

TUNED = [
    f"{prefix}{scenario}"
    for prefix in (
        "",
        "fresh_",
        "holdout_",
        "holdout2_",
        "holdout3_",
        "holdout4_",
        "holdout5_",
        "holdout6_",
        "holdout7_",
        "holdout8_",
        "holdout9_",
        "holdout10_",
        "holdout11_",
        "holdout12_",
    )
    for scenario in ("banking", "insurance")
]
"""Every suite whose failure classes were worked on after its first measurement (the README's suites table)."""
TUNED_FLOOR = 0.94
"""Measured 2026-12-06 (second session) at 399/409 (0.976), then with holdout8 tuned at 451/459 (0.983), then with
holdout9 tuned at 508/511 (0.994), then with holdout10 tuned at 557/558 (0.998), then with holdout11 tuned at
598/600 (0.997), then with holdout12 tuned at 618/632 (0.978), then with holdout12's long-call classes at 631/632
(0.998); a change that loses twenty-odd calls fails here."""


def run(tmp_path: Path, suites: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    report = tmp_path / "text.json"
    status = eval_main([*suites, "--text", "--quiet", "--min-pass-rate", "0", "--json", str(report)])
    out = capsys.readouterr().out
    assert status == 0, out
    result: dict[str, Any] = json.loads(report.read_text())
    result["out"] = out
    return result


def test_the_tuned_suites_keep_their_pass_rate_with_no_wrongful_action(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run(tmp_path, TUNED, capsys)
    summary = result["summary"]
    assert summary["calls"] >= 632, result["out"]
    assert summary["wrongful_actions"] == 0, result["out"]
    assert summary["pass_rate"] >= TUNED_FLOOR, result["out"]
    assert {c["voice"] for c in result["calls"]} == {"text"}


def test_no_suite_ends_or_transfers_a_call_wrongly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run(tmp_path, [], capsys)  # every shipped suite, held-out ones too
    assert result["summary"]["wrongful_actions"] == 0, result["out"]
    assert all(c["failure_class"] in (None, "understanding") for c in result["calls"]), result["out"]
