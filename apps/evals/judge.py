"""Judging one scripted call: what the agent did (from the stored transcript) against the script's expectations.

Failures are sorted into classes so that fixes go to the right layer:
- `stt`: the recogniser lost enough of the caller's words (word error rate over the call above `STT_WER_LIMIT`);
- `turn-taking`: the caller's lines were split into more turns than were said, or merged away;
- `understanding`: the words arrived but the agent did the wrong thing.
A forbidden `end_call` / `transfer_to_human` is a *wrongful* action, counted on its own.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from apps.evals.scripts import CallScript, ExpectedTool
from voice.transcript import CallTranscript, ToolCallRecord

STT_WER_LIMIT = 0.35
WRONGFUL = frozenset({"end_call", "transfer_to_human"})


@dataclass
class Verdict:
    passed: bool
    failures: list[str] = field(default_factory=list)
    failure_class: str = ""
    wrongful: list[str] = field(default_factory=list)
    wer: float | None = None
    response_ms: list[float] = field(default_factory=list)
    caller_turns_heard: int = 0


def _norm_text(text: str) -> str:
    text = text.lower().replace(",", "")
    return " ".join(re.sub(r"[^a-z0-9.$]+", " ", text).replace(". ", " ").split()).strip(" .")


def _norm_value(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return f"{float(value):.15g}"
    text = re.sub(r"[^a-z0-9.]", "", str(value).lower())
    try:
        return (
            f"{float(text):.15g}"
            if re.fullmatch(r"\d+(?:\.\d+)?", text) and not text.startswith("0")
            else text
        )
    except ValueError:
        return text


def _arguments(call: ToolCallRecord) -> dict[str, Any]:
    return call.arguments if isinstance(call.arguments, dict) else {}


def tool_matches(expected: ExpectedTool, call: ToolCallRecord) -> bool:
    if call.name != expected.name or (expected.ok is not None and call.ok != expected.ok):
        return False
    args = _arguments(call)
    return all(k in args and _norm_value(args[k]) == _norm_value(v) for k, v in expected.args.items())


def word_error_rate(said: Sequence[str], heard: Sequence[str]) -> float:
    """Word-level edit distance between everything said and everything recognised, over the words said."""
    ref = _norm_text(" ".join(said)).split()
    hyp = _norm_text(" ".join(heard)).split()
    if not ref:
        return 0.0
    row = list(range(len(hyp) + 1))
    for i, word in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, got in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (word != got))
    return row[-1] / len(ref)


def judge(script: CallScript, transcript: CallTranscript | None, problems: Sequence[str] = ()) -> Verdict:
    verdict = Verdict(passed=False, failures=list(problems))
    if transcript is None:
        verdict.failures.append("no transcript was stored for the call")
        verdict.failure_class = "infrastructure"
        return verdict
    calls = [c for t in transcript.turns for c in t.tool_calls]
    agent_text = _norm_text(" ".join(t.text for t in transcript.turns if t.speaker == "agent"))
    caller = [t for t in transcript.turns if t.speaker == "caller"]
    said = [t.say for t in script.turns if t.say is not None]
    verdict.caller_turns_heard = len(caller)
    verdict.wer = word_error_rate(said, [t.text for t in caller if not t.text.startswith("[dtmf]")])
    verdict.response_ms = [
        t.latency.response_ms
        for t in transcript.turns
        if t.speaker == "agent" and t.latency is not None and t.latency.response_ms is not None
    ]
    expect = script.expect
    position = 0
    for expected in expect.tools:
        found = next((i for i in range(position, len(calls)) if tool_matches(expected, calls[i])), None)
        if found is None:
            ran = ", ".join(f"{c.name}({_arguments(c)})" for c in calls) or "nothing"
            verdict.failures.append(f"expected {expected.name}({expected.args}) in order; ran: {ran}")
        else:
            position = found + 1
    visited = {t.agent for t in transcript.turns if t.agent} | set(
        transcript.outcome.agents_visited if transcript.outcome else ()
    )
    for agent in expect.agents:
        if agent not in visited:
            verdict.failures.append(f"agent {agent} never took the call (visited: {sorted(visited)})")
    for fact in expect.says:
        if _norm_text(fact) not in agent_text:
            verdict.failures.append(f"the agent never said {fact!r}")
    for fact in expect.not_says:
        if _norm_text(fact) in agent_text:
            verdict.failures.append(f"the agent said {fact!r}")
    for call in calls:
        if call.name in expect.not_tools:
            verdict.failures.append(f"forbidden {call.name}({_arguments(call)}) ran")
            if call.name in WRONGFUL:
                verdict.wrongful.append(call.name)
    verdict.passed = not verdict.failures
    if not verdict.passed:
        verdict.failure_class = classify(
            verdict, len([t for t in script.turns if t.say is not None and t.wait])
        )
    return verdict


def classify(verdict: Verdict, lines_waited: int) -> str:
    if verdict.wer is not None and verdict.wer > STT_WER_LIMIT:
        return "stt"
    if verdict.caller_turns_heard > lines_waited + 1:
        return "turn-taking"
    return "understanding"
