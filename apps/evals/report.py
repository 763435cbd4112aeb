"""Eval results as people and CI read them: a per-call table with a summary (pass rate by scenario and voice,
wrongful actions, STT word error rate, response latency), failure transcripts, JSON and JUnit XML."""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from apps.evals.runner import CallRun, EvalRun


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def progress_line(run: CallRun, done: int, total: int) -> str:
    v = run.verdict
    status = "PASS" if v.passed else f"FAIL[{v.failure_class}]"
    wer = f" wer={v.wer:.2f}" if v.wer is not None else ""
    first = f" - {v.failures[0]}" if v.failures else ""
    return f"[{done}/{total}] {status} {run.name} ({run.seconds:.0f}s{wer}){first}"[:220]


def summary(result: EvalRun) -> dict[str, Any]:
    groups: dict[str, list[CallRun]] = defaultdict(list)
    for run in result.runs:
        groups[f"{run.scenario}@{run.voice}"].append(run)
        groups[f"*@{run.voice}"].append(run)
        groups[f"{run.scenario}@*"].append(run)
    latencies = [ms for run in result.runs for ms in run.verdict.response_ms]
    wers = [run.verdict.wer for run in result.runs if run.verdict.wer is not None]
    classes: dict[str, int] = defaultdict(int)
    for run in result.runs:
        if not run.verdict.passed:
            classes[run.verdict.failure_class] += 1
    passed = sum(r.verdict.passed for r in result.runs)
    return {
        "calls": len(result.runs),
        "passed": passed,
        "pass_rate": passed / len(result.runs) if result.runs else 0.0,
        "by_group": {
            key: {"calls": len(runs), "passed": sum(r.verdict.passed for r in runs)}
            for key, runs in sorted(groups.items())
        },
        "wrongful_actions": sum(len(r.verdict.wrongful) for r in result.runs),
        "failure_classes": dict(sorted(classes.items())),
        "stt_wer_median": statistics.median(wers) if wers else None,
        "response_ms_p50": _pct(latencies, 0.5),
        "response_ms_p95": _pct(latencies, 0.95),
        "seconds": round(result.seconds, 1),
        "concurrency": result.concurrency,
    }


def table(result: EvalRun) -> str:
    rows = [f"{'call':52} {'voice':13} {'result':22} {'wer':>5} {'p50 ms':>7}"]
    for run in result.runs:
        v = run.verdict
        status = "pass" if v.passed else f"FAIL {v.failure_class}"
        wer = f"{v.wer:.2f}" if v.wer is not None else "-"
        p50 = _pct(v.response_ms, 0.5)
        rows.append(
            f"{run.suite + '/' + run.call.id:52} {run.voice:13} {status:22} {wer:>5} "
            f"{f'{p50:.0f}' if p50 is not None else '-':>7}"
        )
    s = summary(result)
    rows.append("")
    for key, group in s["by_group"].items():
        rate = group["passed"] / group["calls"]
        rows.append(f"{key:40} {group['passed']:3}/{group['calls']:<3} {rate:6.1%}")
    p50, p95 = s["response_ms_p50"], s["response_ms_p95"]
    rows.append(
        f"\n{s['passed']}/{s['calls']} calls passed ({s['pass_rate']:.1%}); wrongful hang-ups/transfers: "
        f"{s['wrongful_actions']}; failure classes: {s['failure_classes'] or 'none'}; STT WER median "
        f"{s['stt_wer_median'] if s['stt_wer_median'] is None else round(s['stt_wer_median'], 3)}; response "
        f"p50 {p50 if p50 is None else round(p50)} ms, p95 {p95 if p95 is None else round(p95)} ms; "
        f"{s['seconds']}s at concurrency {s['concurrency']}"
    )
    return "\n".join(rows)


def transcript_text(run: CallRun) -> str:
    lines = [f"--- {run.name} (call {run.call_id or '-'})"]
    lines += [f"  ! {f}" for f in run.verdict.failures]
    said = [t.say or f"[dtmf] {t.dtmf}" for t in run.call.turns]
    lines.append(f"  script: {said}")
    if run.transcript is not None:
        for turn in run.transcript.turns:
            tools = "".join(
                f" -> {c.name}({c.arguments}){'' if c.ok else ' FAILED'}" for c in turn.tool_calls
            )
            cut = " (cut)" if turn.interrupted else ""
            lines.append(f"  {turn.speaker}/{turn.agent or '-'}{cut}: {turn.text}{tools}")
        if run.transcript.outcome is not None:
            lines.append(f"  outcome: {run.transcript.outcome.reason}")
    return "\n".join(lines)


def failure_transcripts(result: EvalRun) -> str:
    return "\n".join(transcript_text(run) for run in result.runs if not run.verdict.passed)


def to_json(result: EvalRun) -> dict[str, Any]:
    return {
        "summary": summary(result),
        "calls": [
            {
                "suite": run.suite,
                "scenario": run.scenario,
                "call": run.call.id,
                "tags": run.call.tags,
                "voice": run.voice,
                "passed": run.verdict.passed,
                "failure_class": run.verdict.failure_class or None,
                "failures": run.verdict.failures,
                "wrongful": run.verdict.wrongful,
                "wer": run.verdict.wer,
                "response_ms": run.verdict.response_ms,
                "seconds": round(run.seconds, 1),
                "call_id": run.call_id,
                "said": [t.say for t in run.call.turns if t.say is not None],
                "heard": [
                    t.text for t in (run.transcript.turns if run.transcript else []) if t.speaker == "caller"
                ],
                "transcript": None if run.verdict.passed else transcript_text(run),
            }
            for run in result.runs
        ],
    }


def to_junit(result: EvalRun) -> str:
    suites = ET.Element("testsuites", name="switchboard-eval")
    by_suite: dict[str, list[CallRun]] = defaultdict(list)
    for run in result.runs:
        by_suite[run.suite].append(run)
    for name, runs in by_suite.items():
        failed = sum(not r.verdict.passed for r in runs)
        element = ET.SubElement(
            suites,
            "testsuite",
            name=name,
            tests=str(len(runs)),
            failures=str(failed),
            time=f"{sum(r.seconds for r in runs):.1f}",
        )
        for run in runs:
            case = ET.SubElement(
                element,
                "testcase",
                classname=f"eval.{name}",
                name=f"{run.call.id}@{run.voice}",
                time=f"{run.seconds:.1f}",
            )
            if not run.verdict.passed:
                failure = ET.SubElement(
                    case,
                    "failure",
                    message="; ".join(run.verdict.failures)[:500],
                    type=run.verdict.failure_class,
                )
                failure.text = transcript_text(run)
    return ET.tostring(suites, encoding="unicode")


def write_outputs(result: EvalRun, json_path: Path | None, junit_path: Path | None) -> None:
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(to_json(result), indent=2) + "\n", encoding="utf-8")
    if junit_path is not None:
        junit_path.parent.mkdir(parents=True, exist_ok=True)
        junit_path.write_text(to_junit(result) + "\n", encoding="utf-8")
