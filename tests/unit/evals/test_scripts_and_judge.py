"""Eval suites load with clear errors, and the judge reads a transcript the way the suite means it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from apps.acs_simulator.caller_audio import Pause, PlayWav, SendDtmf, WaitForAgent, WaitForAgentStart
from apps.evals.judge import judge, word_error_rate
from apps.evals.report import summary, to_json, to_junit
from apps.evals.runner import CallRun, EvalRun, build_steps, scenario_numbers
from apps.evals.scripts import SuiteError, find_suites, load_suite
from voice.transcript import CallOutcome, CallTranscript, ToolCallRecord, TranscriptTurn

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _suite(tmp_path: Path, body: str, *, placed_on: str | None = "2026-12-06") -> Path:
    """`body` written as a suite file, with the day its calls are placed on appended as a top-level key."""
    path = tmp_path / "mine.yaml"
    path.write_text(body if placed_on is None else f"{body}placed_on: {placed_on}\n")
    return path


def test_shipped_suites_load_with_enough_calls_across_both_scenarios() -> None:
    suites = {s.suite: s for s in find_suites([])}
    assert {"banking", "insurance"} <= set(suites)
    assert sum(len(s.calls) for s in suites.values()) >= 60
    assert {s.scenario for s in suites.values()} <= set(scenario_numbers())


def test_a_bad_field_is_reported_with_its_file_and_line(tmp_path: Path) -> None:
    path = _suite(
        tmp_path,
        "scenario: banking\ncalls:\n  - id: one\n    turns:\n      - say: hi\n        dtmf: '12'\n    expect: {}\n",
    )
    with pytest.raises(SuiteError, match=r"mine\.yaml:5: calls\.0\.turns\.0: .*exactly one of"):
        load_suite(path)


def test_a_suite_must_say_the_day_its_calls_are_placed_on(tmp_path: Path) -> None:
    """Its "yesterday" and "by December 8th" only hold on one day: without it the runners could not pin the
    service's date, and the suite would pass or fail with the calendar."""
    body = "scenario: banking\ncalls:\n  - id: one\n    turns:\n      - say: hi\n    expect: {}\n"
    with pytest.raises(SuiteError, match=r"mine\.yaml: placed_on: Field required"):
        load_suite(_suite(tmp_path, body, placed_on=None))
    with pytest.raises(SuiteError, match=r"mine\.yaml:7: placed_on: .*valid date"):
        load_suite(_suite(tmp_path, body, placed_on="next tuesday"))
    assert str(load_suite(_suite(tmp_path, body)).placed_on) == "2026-12-06"


def test_unknown_suite_names_the_known_ones() -> None:
    with pytest.raises(SuiteError, match=r"no suite 'nope' \(known: .*banking"):
        find_suites(["nope"])


def test_turns_become_simulator_steps_with_waits_pauses_and_barge_ins(tmp_path: Path) -> None:
    path = _suite(
        tmp_path,
        "scenario: banking\ncalls:\n  - id: one\n    turns:\n      - say: first part\n"
        "      - say: second part\n        wait: false\n        pause: 0.8\n"
        "      - say: over you\n        barge_in_ms: 500\n      - dtmf: '12#'\n    expect: {}\n",
    )
    call = load_suite(path).calls[0]
    audio = {t.say: tmp_path / f"{i}.wav" for i, t in enumerate(call.turns) if t.say}
    steps = build_steps(call, audio)
    kinds = [type(s) for s in steps]
    assert kinds == [
        WaitForAgent,
        PlayWav,
        Pause,
        PlayWav,
        WaitForAgentStart,
        PlayWav,
        WaitForAgent,
        SendDtmf,
        WaitForAgent,
    ]
    assert steps[4] == WaitForAgentStart(after_ms=500)


def _turn(
    seq: int, speaker: str, text: str, agent: str = "concierge", *calls: ToolCallRecord
) -> TranscriptTurn:
    return TranscriptTurn(
        call_id="c1",
        seq=seq,
        speaker=speaker,  # type: ignore[arg-type]
        kind="reply" if speaker == "agent" else "speech",  # type: ignore[arg-type]
        agent=agent,
        text=text,
        started_at=NOW,
        ended_at=NOW,
        tool_calls=calls,
    )


def _call(name: str, ok: bool = True, **args: object) -> ToolCallRecord:
    return ToolCallRecord(id=name, name=name, arguments=dict(args), ok=ok)


def _transcript(*turns: TranscriptTurn) -> CallTranscript:
    return CallTranscript(call_id="c1", turns=list(turns), outcome=CallOutcome(reason="caller hung up"))


SUITE = """scenario: banking
calls:
  - id: balance
    turns:
      - say: what is in my checking
      - say: Jordan Rivera four eight two one
    expect:
      tools:
        - {name: verify_identity, args: {full_name: jordan rivera, account_last4: "4821"}}
        - {name: get_balance, args: {account_type: checking}}
      says: ["2,450 dollars"]
"""


def test_a_call_that_did_what_was_expected_passes(tmp_path: Path) -> None:
    call = load_suite(_suite(tmp_path, SUITE)).calls[0]
    transcript = _transcript(
        _turn(1, "caller", "what is in my checking"),
        _turn(
            2,
            "agent",
            "",
            "concierge",
            _call("verify_identity", full_name="Jordan Rivera", account_last4="4821"),
        ),
        _turn(3, "caller", "jordan rivera four eight two one"),
        _turn(
            4,
            "agent",
            "Your checking balance is 2,450 dollars and 75 cents.",
            "concierge",
            _call("get_balance", account_type="checking"),
        ),
    )
    verdict = judge(call, transcript)
    assert verdict.passed, verdict.failures
    assert verdict.wer == 0.0


def test_wrong_arguments_a_missing_fact_and_a_hang_up_are_each_reported(tmp_path: Path) -> None:
    call = load_suite(_suite(tmp_path, SUITE)).calls[0]
    transcript = _transcript(
        _turn(1, "caller", "what is in my checking"),
        _turn(
            2,
            "agent",
            "Your savings balance is 12,800 dollars.",
            "concierge",
            _call("verify_identity", full_name="Jordan Rivera", account_last4="4821"),
            _call("get_balance", account_type="savings"),
        ),
        _turn(3, "agent", "Goodbye.", "concierge", _call("end_call")),
    )
    verdict = judge(call, transcript)
    assert not verdict.passed
    assert any("get_balance" in f for f in verdict.failures)
    assert any("2,450 dollars" in f for f in verdict.failures)
    assert verdict.wrongful == ["end_call"]
    assert verdict.failure_class == "stt"  # half the caller's words never arrived


def test_word_error_rate_counts_substitutions_insertions_and_deletions() -> None:
    assert word_error_rate(["one two three four"], ["one too three four"]) == 0.25
    assert word_error_rate(["one two"], ["one two three"]) == 0.5
    assert word_error_rate(["one two"], []) == 1.0


def test_reports_give_pass_rates_by_scenario_and_voice_and_junit_failures(tmp_path: Path) -> None:
    call = load_suite(_suite(tmp_path, SUITE)).calls[0]
    good = judge(
        call,
        _transcript(
            _turn(
                1,
                "agent",
                "2,450 dollars",
                "concierge",
                _call("verify_identity", full_name="Jordan Rivera", account_last4="4821"),
                _call("get_balance", account_type="checking"),
            ),
        ),
    )
    bad = judge(call, _transcript(_turn(1, "agent", "Sorry?")))
    result = EvalRun(
        runs=[
            CallRun("mine", "banking", call, "espeak-us", good, 20.0),
            CallRun("mine", "banking", call, "espeak-f3", bad, 21.0),
        ]
    )
    s = summary(result)
    assert s["pass_rate"] == 0.5
    assert s["by_group"]["banking@espeak-us"] == {"calls": 1, "passed": 1}
    assert s["by_group"]["banking@espeak-f3"] == {"calls": 1, "passed": 0}
    assert to_json(result)["calls"][1]["transcript"].startswith("--- mine/balance@espeak-f3")
    junit = ET.fromstring(to_junit(result))
    cases = junit.findall(".//testcase")
    assert [c.get("name") for c in cases] == ["balance@espeak-us", "balance@espeak-f3"]
    assert cases[0].find("failure") is None and cases[1].find("failure") is not None


def test_long_numbers_are_compared_digit_for_digit() -> None:
    from apps.evals.judge import tool_matches
    from apps.evals.scripts import ExpectedTool

    def ran(value: object) -> ToolCallRecord:
        return ToolCallRecord(id="c1", name="get_claim_status", arguments={"claim_number": value}, ok=True)

    expected = ExpectedTool(name="get_claim_status", args={"claim_number": "7001001"})
    assert tool_matches(expected, ran("7001001"))
    assert tool_matches(expected, ran(7001001))
    assert not tool_matches(expected, ran("7001002"))  # ":g" once made these one number (7.001e+06)
    assert tool_matches(ExpectedTool(name="get_claim_status", args={"claim_number": 250}), ran("250.0"))


def test_audio_calls_run_in_waves_that_mix_scenarios() -> None:
    """Two calls at a time, the demo data re-seeded before each pair: a pair should not be two calls on the same
    demo customers when the other scenario has calls left."""
    from apps.evals.runner import waves
    from apps.evals.scripts import CallScript, Suite

    def suite(scenario: str, count: int) -> list[tuple[Suite, CallScript, str]]:
        calls = [
            CallScript.model_validate({"id": f"{scenario}-{i}", "turns": [{"say": "hi"}], "expect": {}})
            for i in range(count)
        ]
        made = Suite.model_validate(
            {
                "suite": scenario,
                "scenario": scenario,
                "placed_on": "2026-12-06",
                "calls": [c.model_dump() for c in calls],
            }
        )
        return [(made, c, "espeak-us") for c in made.calls]

    jobs = suite("banking", 3) + suite("insurance", 2)
    ordered = waves(jobs, 2)
    assert sorted(c.id for _, c, _ in ordered) == sorted(c.id for _, c, _ in jobs)
    pairs = [ordered[i : i + 2] for i in range(0, 4, 2)]
    assert all({s.scenario for s, _, _ in pair} == {"banking", "insurance"} for pair in pairs)
