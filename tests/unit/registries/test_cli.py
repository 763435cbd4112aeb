"""`switchboard agents validate [DIR]` prints every problem, a summary, and exits non-zero on problems."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from registries.cli import validate_main

from .trees import write


def test_a_valid_tree_prints_a_summary_and_exits_0(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert validate_main([str(tree), "--only"]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("ok: 3 agents, 1 scenarios, 6 tools, version ")


def test_the_shipped_registry_validates(capsys: pytest.CaptureFixture[str]) -> None:
    assert validate_main([]) == 0
    assert capsys.readouterr().out.startswith("ok: ")


def test_problems_are_printed_one_per_line_and_exit_1(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tree, "agents/support.yaml", "greeting: Hi.\ntools: [count_wrds]\nvoice: {rate: quick}\n")
    assert validate_main([str(tree), "--only"]) == 1
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines == [
        f'{tree}/agents/support.yaml:3: voice.rate: rate must be a signed percentage like "+10%" or "-5%"',
        "1 problem",
    ]


def test_json_output(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tree, "agents/support.yaml", "greeting: Hi.\ntools: [count_wrds]\n")
    assert validate_main([str(tree), "--only", "--json"]) == 1
    body = json.loads(capsys.readouterr().out)
    assert body["ok"] is False
    assert body["problems"][0]["message"] == "unknown tool 'count_wrds' (did you mean 'count_words'?)"


def test_a_missing_directory_is_a_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert validate_main([str(tmp_path / "nowhere")]) == 1
    assert "registry directory does not exist" in capsys.readouterr().out
