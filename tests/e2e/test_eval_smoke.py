"""A few scripted callers from the eval suites (tag `smoke`), run through `switchboard eval` end to end:
the embedded backend, the ACS simulator, espeak caller audio, the judge, and the JSON/JUnit reports."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from apps.evals.cli import main as eval_main

pytestmark = pytest.mark.e2e


def test_smoke_calls_pass_and_are_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report, junit = tmp_path / "report.json", tmp_path / "junit.xml"
    status = eval_main(["--tag", "smoke", "--concurrency", "2", "--json", str(report), "--junit", str(junit)])
    out = capsys.readouterr().out
    result = json.loads(report.read_text())
    calls = {c["call"]: c for c in result["calls"]}
    assert set(calls) == {"capabilities-question", "keypad-digits", "goodbye-is-not-an-answer"}, out
    assert status == 0, out
    assert result["summary"]["pass_rate"] == 1.0
    assert result["summary"]["wrongful_actions"] == 0
    assert "[3/3] PASS" in out
    cases = ET.parse(junit).getroot().findall(".//testcase")
    assert len(cases) == 3 and all(c.find("failure") is None for c in cases)
