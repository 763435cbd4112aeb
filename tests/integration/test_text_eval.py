"""`switchboard eval --text` over the shipped suites: the caller's words as text through the cascade's own
brain/tool loop, real tools on the embedded Redis (understanding alone, no audio). Deterministic, so it gates
understanding in CI: the tuned suites stay at their pass rate, and no suite (the held-out ones included) may
ever hang up or transfer wrongly. The held-out suites' pass rate is reported, never asserted: they measure."""

from __future__ import annotations

import json
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
        "holdout13_",
        "holdout14_",
    )
    for scenario in ("banking", "insurance")
]
"""Every suite whose failure classes were worked on after its first measurement (the README's suites table)."""
TUNED_FLOOR = 0.97
"""Measured 2026-12-06 (second session) at 399/409 (0.976), then with holdout8 tuned at 451/459 (0.983), then with
holdout9 tuned at 508/511 (0.994), then with holdout10 tuned at 557/558 (0.998), then with holdout11 tuned at
598/600 (0.997), then with holdout12 tuned at 618/632 (0.978), then with holdout13 tuned at 670/685 (0.978), then with
holdout12's long-call classes too at 683/685 (0.997), then with holdout14 partly tuned (30/51 at its first
measurement, 39/51 after) at 722/736 (0.981); a change that loses twenty-odd calls fails here."""


pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
"""Every shipped call is placed once (70-160 s on a busy two-core machine): slower than the default timeout."""


@pytest.fixture(scope="module")
def every_call(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every shipped suite, held-out ones too, run once for the module's tests."""
    report = tmp_path_factory.mktemp("text-eval") / "text.json"
    status = eval_main(["--text", "--quiet", "--min-pass-rate", "0", "--json", str(report)])
    assert status == 0
    result: dict[str, Any] = json.loads(report.read_text())
    return result


def test_the_tuned_suites_keep_their_pass_rate_with_no_wrongful_action(every_call: dict[str, Any]) -> None:
    tuned = [c for c in every_call["calls"] if c["suite"] in TUNED]
    failed = [f"{c['suite']}/{c['call']}: {c['failures']}" for c in tuned if not c["passed"]]
    assert len(tuned) >= 736, len(tuned)
    assert not [c for c in tuned if c["wrongful"]], failed
    assert sum(c["passed"] for c in tuned) / len(tuned) >= TUNED_FLOOR, failed
    assert {c["voice"] for c in tuned} == {"text"}


def test_no_suite_ends_or_transfers_a_call_wrongly(every_call: dict[str, Any]) -> None:
    calls = every_call["calls"]
    assert not [f"{c['suite']}/{c['call']}" for c in calls if c["wrongful"]]
    assert all(c["failure_class"] in (None, "understanding") for c in calls), [
        (c["call"], c["failure_class"]) for c in calls if c["failure_class"] not in (None, "understanding")
    ]
