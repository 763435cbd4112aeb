"""A few scripted callers from the eval suites (tag `smoke`), run through `switchboard eval` end to end: the
embedded backend, the ACS simulator, espeak caller audio, the judge, and the JSON/JUnit reports.

Whether a call passes depends on what pocketsphinx hears, which varies with timing on a loaded machine: this test
holds the machinery (every call placed and judged, reports consistent, exit status from the pass rate) and the
one property that must never vary, no wrongful hang-up or transfer. Pass rates are `make eval`'s to report.
"""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from apps.evals.cli import main as eval_main

pytestmark = pytest.mark.e2e

SMOKE = {"capabilities-question", "keypad-digits", "goodbye-is-not-an-answer"}


def test_smoke_calls_are_placed_judged_and_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report, junit = tmp_path / "report.json", tmp_path / "junit.xml"
    argv = ["--tag", "smoke", "--concurrency", "2", "--json", str(report), "--junit", str(junit)]
    status = eval_main([*argv, "--min-pass-rate", "0"])
    out = capsys.readouterr().out
    result = json.loads(report.read_text())
    calls = {c["call"]: c for c in result["calls"]}
    assert set(calls) == SMOKE, out
    assert status == 0, out
    assert all(c["failure_class"] != "infrastructure" for c in calls.values()), out
    assert all(c["heard"] for c in calls.values()), out  # every caller was heard by the backend
    assert result["summary"]["wrongful_actions"] == 0, out
    assert result["summary"]["calls"] == 3 and "[3/3]" in out
    cases = {c.get("name"): c for c in ET.parse(junit).getroot().findall(".//testcase")}
    assert set(cases) == {f"{name}@espeak-us" for name in SMOKE}
    for name, call in calls.items():
        assert (cases[f"{name}@espeak-us"].find("failure") is None) == call["passed"]
