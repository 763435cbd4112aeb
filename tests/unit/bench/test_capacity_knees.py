"""The capacity bench's two knees: the server's (frame lag) and the caller's (reply p95 within +100 ms of
one call's, no audio gap, no failed call), and several workers' /metrics summed into one view."""

from __future__ import annotations

from typing import Any

from bench.capacity import caller_problems, knees, merge_snapshots
from bench.loadgen import parse_metrics


def row(
    calls: int, *, p95: float | None = 1300.0, gaps: int = 0, dropped: int = 0, failed: int = 0
) -> dict[str, Any]:
    return {
        "calls": calls,
        "dropped_calls": dropped,
        "failed_setups": failed,
        "generator": {"response_p95_ms": p95, "audio_gaps": gaps, "generator_lag_p99_ms": 1.0},
    }


def test_the_caller_knee_allows_100_ms_over_one_call() -> None:
    assert caller_problems(row(10, p95=1350.0), 1250.0) == []
    assert caller_problems(row(10, p95=1351.0), 1250.0) == ["reply p95 1351 ms > one call's 1250 + 100 ms"]


def test_gaps_drops_failures_and_missing_numbers_are_past_the_caller_knee() -> None:
    problems = caller_problems(row(10, gaps=3, dropped=1, failed=2), 1250.0)
    assert problems == ["3 audio gaps heard", "1 calls dropped", "2 calls failed to set up"]
    assert caller_problems(row(10, p95=None), 1250.0) == ["no replies heard in the step"]
    assert caller_problems(row(10), None) == ["no one-call baseline"]


def test_each_knee_is_the_last_step_before_its_first_failure() -> None:
    steps = [
        {"calls": 100, "ok": True, "caller_ok": True},
        {"calls": 200, "ok": False, "caller_ok": True},
        {"calls": 300, "ok": True, "caller_ok": False},  # a later pass does not move a crossed knee
        {"calls": 400, "ok": True, "caller_ok": True},
    ]
    assert knees(steps) == {
        "server_frame_lag": {"calls": 100, "crossed": True},
        "caller_perceived": {"calls": 200, "crossed": True},
    }
    assert knees(steps[:1])["caller_perceived"] == {"calls": 100, "crossed": False}
    assert knees([{"calls": 10, "ok": False, "caller_ok": False}])["server_frame_lag"]["calls"] == 0


def test_workers_metrics_are_summed() -> None:
    a = parse_metrics(
        "# TYPE switchboard_active_calls gauge\nswitchboard_active_calls 3\n"
        '# TYPE lag histogram\nlag_bucket{le="0.02"} 8\nlag_bucket{le="+Inf"} 10\nlag_count 10\nlag_sum 0.1\n'
    )
    b = parse_metrics(
        "# TYPE switchboard_active_calls gauge\nswitchboard_active_calls 1\n"
        '# TYPE lag histogram\nlag_bucket{le="0.02"} 2\nlag_bucket{le="+Inf"} 10\nlag_count 10\nlag_sum 0.3\n'
    )
    merged = merge_snapshots([a, b])
    assert merged.value("switchboard_active_calls") == 4
    hist = merged.histogram("lag")
    assert hist is not None and hist.count == 20 and hist.fraction_at_most(0.02) == 0.5


def test_the_summary_reports_both_knees_and_follows_the_result_contract() -> None:
    from bench.capacity import RampConfig, evaluate_step, summarize
    from bench.report import check_result, render_summary
    from tests.unit.bench.test_loadgen import exposition, probe

    idle = probe(0.0, 0.0, 100, None, 0)
    steps = []
    for calls, late, p95 in ((10, 0, 1260.0), (20, 0, 1400.0), (40, 50, 1500.0)):
        before = probe(0.0, 0.0, 100, exposition([], frames=0), 0)
        lags = [0.003] * (1000 - late) + [0.03] * late
        after = probe(10.0, calls * 0.04, 100 + calls * 0.5, exposition(lags, frames=1000), 1000)
        window = {
            "generator_lag_p99_ms": 1.0,
            "response_p95_ms": p95,
            "response_p50_ms": p95,
            "audio_gaps": 0,
            "replies_per_call": 1.0,
        }
        steps.append(evaluate_step(calls, before, after, idle, window, 0, 0, baseline_p95_ms=1250.0))
    raw = {
        "steps": steps,
        "baseline": {"response_p95_ms": 1250.0},
        "stop_reason": "both knees crossed",
        "idle": {},
        "phrase_s": 1.4,
    }
    result = summarize(raw, RampConfig((10, 20, 40), settle_s=1, hold_s=10), pinned=True)
    check_result(result, "capacity")
    assert result["caller_knee_calls"] == 10 and result["server_knee_calls"] == 20
    assert result["knees"]["caller_perceived"]["crossed"] and result["knees"]["server_frame_lag"]["crossed"]
    text = render_summary([result], {"date": "today"})
    assert (
        "| caller-perceived knee (calls) | 10 |" in text and "| server frame-lag knee (calls) | 20 |" in text
    )


def test_cpu_pressure_is_the_share_of_the_step_other_load_held_the_cpus() -> None:
    from dataclasses import replace

    from bench.capacity import evaluate_step
    from tests.unit.bench.test_loadgen import exposition, probe

    before = replace(probe(0.0, 0.0, 100, exposition([], frames=0), 0), pressure_us=1_000_000)
    after = replace(probe(10.0, 1.0, 100, exposition([0.003] * 10, frames=10), 10), pressure_us=4_000_000)
    window = {"generator_lag_p99_ms": 1.0, "response_p95_ms": 1.0, "audio_gaps": 0}
    step = evaluate_step(1, before, after, before, window, 0, 0, baseline_p95_ms=1.0)
    assert step["cpu_pressure_pct"] == 30.0


def test_the_cpu_ceiling_extrapolates_the_marginal_cost_per_call() -> None:
    from bench.capacity import cpu_ceiling_per_core

    def step(calls: int, cpu: float, handled: int) -> dict[str, Any]:
        sent = calls * 50 * 10
        return {
            "calls": calls,
            "worker_cpu_pct": cpu,
            "frames_sent": sent,
            "frames_handled": handled,
            "cpu_us_per_frame": 80.0,
        }

    # 20 % at 50 calls, 40 % at 100: 0.4 % per call on top of fixed costs, so 100 % at 250 calls.
    assert cpu_ceiling_per_core([step(50, 20.0, 25000), step(100, 40.0, 50000)], 1)[1] == 250
    # A starved worker handled half its frames: its CPU counts double (80 %), 1.2 % per call from 50 calls
    # on: 100 % at 100 + 20 / 1.2 = 117 calls.
    assert cpu_ceiling_per_core([step(50, 20.0, 25000), step(100, 40.0, 25000)], 1)[1] == 117
    # Two workers, two cores: the same per-call cost carries twice the calls, i.e. the same per core.
    assert cpu_ceiling_per_core([step(100, 40.0, 50000), step(200, 80.0, 100000)], 2)[1] == 250
    assert cpu_ceiling_per_core([step(100, 40.0, 50000)], 1)[1] == 250  # one step: 80 us per frame
