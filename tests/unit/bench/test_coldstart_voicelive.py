"""The coldstart and voicelive benchmarks' analysis: phases from the service's log, targets that fail when
nothing was measured, and results in the shared contract (bench.report.check_result)."""

from __future__ import annotations

import json
from pathlib import Path

from bench import coldstart, voicelive
from bench.phrases import Phrase
from bench.report import check_result
from bench.stats import summarize


def _line(ts: str, msg: str) -> str:
    return json.dumps({"ts": ts, "level": "info", "logger": "uvicorn.error", "msg": msg})


def test_log_phases_split_imports_from_the_lifespan() -> None:
    started = 1_780_000_000.0  # 2026-05-28T20:26:40+00:00
    text = "\n".join(
        [
            "not json at all",
            _line("2026-05-28T20:26:41.500+00:00", "Waiting for application startup."),
            _line("2026-05-28T20:26:42.250+00:00", "Application startup complete."),
        ]
    )
    assert coldstart.log_phases(text, started) == (1.5, 0.75)
    assert coldstart.log_phases("", started) == (None, None)


def _run(ready_s: float, first_ms: float | None, warm_ms: float) -> coldstart.ColdStart:
    return coldstart.ColdStart(
        ready_s=ready_s,
        imports_s=1.0,
        startup_s=0.5,
        cpu_s_at_ready=2.0,
        rss_mb_at_ready=500.0,
        rss_mb_idle=550.0,
        children_mb_idle={"valkey-server": 7.5},
        first_call=coldstart.CallSample(greeting_ms=90.0, response_ms=first_ms),
        warm_call=coldstart.CallSample(greeting_ms=40.0, response_ms=warm_ms),
    )


def test_coldstart_targets_use_the_median_and_fail_without_samples() -> None:
    result = coldstart.build_result(
        [_run(2.0, 760.0, 740.0), _run(4.0, 700.0, 740.0), _run(2.5, 800, 700)], False
    )
    check_result(result, "coldstart")
    ready, first_call = result["targets"]
    assert ready["value"] == 2.5 and ready["met"]
    assert first_call["value"] == 20.0 and first_call["met"]

    empty = coldstart.build_result([_run(5.0, None, 740.0)], True)
    assert [t["met"] for t in empty["targets"]] == [False, False]

    troubled = _run(2.0, None, 740.0)
    assert troubled.first_call is not None
    troubled.first_call.problems.append("the first turn got no reply")
    assert (
        "run 1 first call: the first turn got no reply" in coldstart.build_result([troubled], True)["notes"]
    )


def test_voicelive_result_keeps_both_benchmarks_and_labels_its_targets(tmp_path: Path) -> None:
    turn = {"client_response_ms": 640.0, "client_minus_server_ms": -2.0}
    sets = {
        "instant": {
            "calls": [{"call_connection_id": "c1", "turns": [turn], "problems": []}],
            "summaries": {
                "client_response_ms": summarize([640.0]),
                "response_ms": summarize([642.0]),
                "end_of_turn_ms": summarize([630.0]),
                "overhead_ms": summarize([11.0]),
                "client_minus_server_ms": summarize([-2.0]),
                "client_response_plain_ms": summarize([640.0]),
                "client_response_paused_ms": summarize([]),
            },
            "cut": {"turns": 1, "cut": 0, "rate": 0.0},
        }
    }
    barge = {
        "targets": [
            {"name": "barge-in latency", "target": "p95 <= 150 ms", "value": 120.0, "unit": "ms", "met": True}
        ],
        "notes": ["3 interruptions"],
        "histograms": {"barge-in latency (onset -> StopAudio)": [110.0, 120.0]},
        "samples": {"calls": []},
        "summary": summarize([110.0, 120.0]),
        "counts": {"timed": 2},
    }
    phrase = Phrase("What's my balance?", tmp_path / "p.wav", 900.0)

    result = voicelive.build_result(sets, barge, [phrase], quick=True)

    check_result(result, "voicelive")
    names = [t["name"] for t in result["targets"]]
    assert names[0] == "VoiceLive barge-in latency"
    p50 = next(t for t in result["targets"] if t["target"].startswith("p50"))
    assert p50["value"] == 640.0 and not p50["met"]
    assert ["barge-in, instant", "onset -> StopAudio", 2] == result["table"]["rows"][-1][:3]
    cut = next(t for t in result["targets"] if t["name"].startswith("turns cut mid-sentence"))
    assert cut["value"] == 0 and cut["met"]
    assert set(result["histograms"]) == {
        "response latency, voicelive instant (caller's ear)",
        "voicelive barge-in latency (onset -> StopAudio)",
    }
