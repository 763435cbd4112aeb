"""The guidance benchmark's module imports (it broke once when the latency bench it borrows from changed) and
turns its three sets into the difference to the run without guidance."""

from __future__ import annotations

from typing import Any

from bench import guidance
from bench.stats import summarize


def a_set(ear_ms: list[float], events: dict[str, int]) -> dict[str, Any]:
    turns = [{"client_response_ms": ms, "response_ms": ms - 5} for ms in ear_ms]
    return {
        "set": "x",
        "calls": [{"call_connection_id": "c1", "turns": turns, "problems": []}],
        "guidance_events": events,
        "client_response_ms": summarize(ear_ms),
        "response_ms": summarize(t["response_ms"] for t in turns),
    }


def test_the_result_reports_what_guidance_added_at_the_callers_ear() -> None:
    sets = {
        "off": a_set([400, 420, 440], {}),
        "embedded": a_set([410, 430, 450], {"embedded": 3}),
        "model": a_set([440, 460, 480], {"azure-openai": 3}),
    }
    result = guidance.build_result(sets, quick=True)
    added = {t["name"]: (t["value"], t["met"]) for t in result["targets"]}
    assert added == {
        "guidance added (embedded), caller's ear": (10.0, True),
        "guidance added (model), caller's ear": (40.0, False),
    }
    rows = {(row[0], row[1]): row for row in result["table"]["rows"]}
    assert rows[("model", "response (caller's ear)")][-1] == "3 azure-openai"
    assert rows[("off", "response (server)")][-1] == "none"
