"""Benchmark 2c, capacity: how many concurrent calls one worker process carries on one core.

The real backend (`bench.server --providers realistic`: STT final 150 ms, LLM first token 300 ms, TTS first
audio 100 ms) runs pinned to one core; this process, pinned to the other, plays the phone network with the
lean load generator (`bench.loadgen`). Calls ramp up in steps and stay up; each step is held and measured:

- the backend's own view from GET /metrics, diffed over the step: inbound frame lag (how late each 20 ms
  frame was handled against its call's cadence), event loop lag, frames handled;
- the process from psutil: CPU of the worker (its embedded Redis reported apart), RSS and USS;
- the caller's view from the generator: reply latency, audio gaps heard, and the generator's own send lag.

A step passes when at most 1 % of its frames were handled more than 20 ms late (p99 <= 20 ms, read exactly
off the 20 ms bucket), the backend is not falling behind (frames sent - frames handled <= 2 per call), no
call dropped and the generator itself kept time (its p99 lag <= 5 ms; otherwise the step measures us, and
the ramp stops without blaming the backend). Capacity is the last passing step.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil

from bench.loadgen import (
    LoadGenerator,
    LoadProfile,
    MetricsSnapshot,
    counter_delta,
    histogram_delta,
    lag_summary,
    pin_process,
    restore_affinity,
    scrape,
    summarize_window,
)
from bench.worker import Worker, running_worker

NAME = "capacity"

FULL_STEPS = (10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 140, 160, 180, 200, 250, 300)
QUICK_STEPS = (5, 10)
LAG_LIMIT_S = 0.020
MAX_OVER_LIMIT = 0.01  # p99 <= 20 ms  <=>  at most 1 % of frames over 20 ms
GENERATOR_LAG_LIMIT_MS = 5.0
BACKLOG_FRAMES_PER_CALL = 2
TARGET_CALLS_PER_CORE = 100
TARGET_MB_PER_CALL = 2.0
WORKER_CPU = 0
GENERATOR_CPU = 1
MB = 1024 * 1024

FRAME_LAG = "switchboard_inbound_frame_lag_seconds"
LOOP_LAG = "switchboard_event_loop_lag_seconds"
FRAMES_IN = "switchboard_inbound_frames_total"
UNDERRUNS = "switchboard_playout_underruns_total"
ACTIVE = "switchboard_active_calls"


@dataclass(frozen=True)
class RampConfig:
    steps: tuple[int, ...]
    settle_s: float
    hold_s: float
    warmup_calls: int = 2
    warmup_s: float = 6.0

    @classmethod
    def for_mode(cls, quick: bool) -> RampConfig:
        if quick:
            return cls(QUICK_STEPS, settle_s=2.0, hold_s=8.0, warmup_calls=1, warmup_s=3.0)
        return cls(FULL_STEPS, settle_s=4.0, hold_s=25.0)


@dataclass(frozen=True)
class Probe:
    """The worker at one instant: CPU seconds so far, memory, a metrics scrape, frames sent so far."""

    at: float
    cpu_s: float
    children_cpu_s: float
    rss: int
    uss: int | None
    metrics: MetricsSnapshot | None
    frames_sent: int


class WorkerProbe:
    def __init__(self, worker: Worker, http: httpx.AsyncClient, generator: LoadGenerator | None) -> None:
        self.process = psutil.Process(worker.pid)
        self.http = http
        self.generator = generator

    def _cpu(self) -> tuple[float, float]:
        times = self.process.cpu_times()
        own = times.user + times.system
        children = 0.0
        for child in self.process.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                child_times = child.cpu_times()
                children += child_times.user + child_times.system
        return own, children

    async def take(self, *, memory_detail: bool = True) -> Probe:
        frames_sent = self.generator.ticker.frames_sent if self.generator is not None else 0
        metrics = await scrape(self.http)
        cpu, children = self._cpu()
        uss: int | None = None
        if memory_detail:
            with contextlib.suppress(psutil.Error):
                uss = self.process.memory_full_info().uss
        return Probe(
            time.monotonic(), cpu, children, self.process.memory_info().rss, uss, metrics, frames_sent
        )


def _pct(delta_s: float, wall_s: float) -> float:
    return round(100 * delta_s / wall_s, 1) if wall_s > 0 else 0.0


def _mb(n: float | None) -> float | None:
    return None if n is None else round(n / MB, 2)


def evaluate_step(
    calls: int, before: Probe, after: Probe, idle: Probe, window: dict[str, Any], dropped: int, failed: int
) -> dict[str, Any]:
    """One ramp step's numbers and verdict (pure: probes in, JSON-ready dict out)."""
    wall = after.at - before.at
    lag = lag_summary(histogram_delta(after.metrics, before.metrics, FRAME_LAG), limit_s=LAG_LIMIT_S)
    loop = lag_summary(histogram_delta(after.metrics, before.metrics, LOOP_LAG), limit_s=LAG_LIMIT_S)
    handled = counter_delta(after.metrics, before.metrics, FRAMES_IN, result="ok")
    handled_total = after.metrics.value(FRAMES_IN, result="ok") if after.metrics else None
    # A lower bound (frames sent after the count was taken are not in it): a backend falling behind shows
    # as a backlog growing by a frame per call every 20 ms, far above the limit.
    backlog = None if handled_total is None else max(0, int(after.frames_sent - handled_total))
    cpu = _pct(after.cpu_s - before.cpu_s, wall)
    row: dict[str, Any] = {
        "calls": calls,
        "worker_cpu_pct": cpu,
        "cpu_pct_per_call": round(cpu / calls, 2) if calls else None,
        "redis_cpu_pct": _pct(after.children_cpu_s - before.children_cpu_s, wall),
        "rss_mb": _mb(after.rss),
        "uss_mb": _mb(after.uss),
        "mb_per_call": round((after.rss - idle.rss) / MB / calls, 3) if calls else None,
        "uss_mb_per_call": (
            round((after.uss - idle.uss) / MB / calls, 3) if calls and after.uss and idle.uss else None
        ),
        "frame_lag": lag,
        "loop_lag": loop,
        "frames_sent": after.frames_sent - before.frames_sent,
        "frames_handled": None if handled is None else int(handled),
        "backlog_frames": backlog,
        "underruns": counter_delta(after.metrics, before.metrics, UNDERRUNS),
        "active_calls_reported": after.metrics.value(ACTIVE) if after.metrics else None,
        "dropped_calls": dropped,
        "failed_setups": failed,
        "generator": window,
    }
    row["problems"] = step_problems(row)
    row["ok"] = not row["problems"]
    return row


def step_problems(row: dict[str, Any]) -> list[str]:
    """Why a step does not count (empty: it passes)."""
    problems: list[str] = []
    over = row["frame_lag"]["over_limit"]
    if over is None:
        problems.append("no frame-lag histogram from /metrics")
    elif over > MAX_OVER_LIMIT:
        problems.append(f"{over:.1%} of frames handled > 20 ms late (p99 > 20 ms)")
    calls = row["calls"]
    if row["backlog_frames"] is not None and row["backlog_frames"] > BACKLOG_FRAMES_PER_CALL * calls:
        problems.append(f"backend {row['backlog_frames']} frames behind the generator")
    if row["dropped_calls"]:
        problems.append(f"{row['dropped_calls']} calls dropped")
    if row["failed_setups"]:
        problems.append(f"{row['failed_setups']} calls failed to set up")
    gen_p99 = row["generator"]["generator_lag_p99_ms"]
    if gen_p99 is not None and gen_p99 > GENERATOR_LAG_LIMIT_MS:
        problems.append(f"generator lag p99 {gen_p99} ms > {GENERATOR_LAG_LIMIT_MS} ms (measurement invalid)")
    return problems


TABLE_COLUMNS = [
    "calls",
    "worker CPU %",
    "CPU %/call",
    "RSS MB",
    "MB/call",
    "USS MB/call",
    "frame lag p50 ms",
    "frame lag p99 ms",
    "frames > 20 ms",
    "loop lag p99 ms",
    "gen lag p99 ms",
    "backlog frames",
    "replies/call",
    "response p50 ms",
    "audio gaps",
    "ok",
]


def table_row(step: dict[str, Any]) -> list[Any]:
    gen = step["generator"]
    over = step["frame_lag"]["over_limit"]
    return [
        step["calls"],
        step["worker_cpu_pct"],
        step["cpu_pct_per_call"],
        step["rss_mb"],
        step["mb_per_call"],
        step["uss_mb_per_call"],
        step["frame_lag"]["p50_ms"],
        step["frame_lag"]["p99_ms"],
        None if over is None else f"{over:.2%}",
        step["loop_lag"]["p99_ms"],
        gen["generator_lag_p99_ms"],
        step["backlog_frames"],
        gen["replies_per_call"],
        gen["response_p50_ms"],
        gen["audio_gaps"],
        "yes" if step["ok"] else "no: " + "; ".join(step["problems"]),
    ]


async def _warm_up(generator: LoadGenerator, config: RampConfig) -> None:
    """A couple of calls before the idle baseline, so one-time costs (lazy imports, model arenas, the
    first call's caches) are not billed per call."""
    if config.warmup_calls <= 0:
        return
    await generator.add_calls(config.warmup_calls)
    await asyncio.sleep(config.warmup_s)
    for lean in generator.live_calls:
        lean.call.end("caller", "warm-up done")
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*(c.call.ended.wait() for c in generator.calls)), 15)
    generator.calls.clear()
    await asyncio.sleep(2.0)


async def ramp(worker: Worker, config: RampConfig, profile: LoadProfile) -> dict[str, Any]:
    generator = LoadGenerator(worker.simulator, worker.url, profile)
    await generator.start()
    phrase_s = (await generator.caller_audio(16000)).phrase_s
    steps: list[dict[str, Any]] = []
    stop_reason = "ran every step"
    async with httpx.AsyncClient(base_url=worker.url, timeout=10.0) as http:
        probe = WorkerProbe(worker, http, generator)
        await _warm_up(generator, config)
        idle_before = await probe.take()
        await asyncio.sleep(3.0)
        idle = await probe.take()
        idle_cpu = _pct(idle.cpu_s - idle_before.cpu_s, idle.at - idle_before.at)
        try:
            for target in config.steps:
                missing = target - len(generator.live_calls)
                placed = await generator.add_calls(missing) if missing > 0 else None
                await asyncio.sleep(config.settle_s)
                generator.begin_window()
                before = await probe.take(memory_detail=False)
                await asyncio.sleep(config.hold_s)
                after = await probe.take()
                calls = len(generator.live_calls)
                window = summarize_window(generator.end_window(), calls)
                step = evaluate_step(
                    calls,
                    before,
                    after,
                    idle,
                    window,
                    dropped=len(generator.dropped),
                    failed=len(placed.failed) if placed else 0,
                )
                step["setup_p50_s"] = (
                    round(sorted(placed.setup_s)[len(placed.setup_s) // 2], 3)
                    if placed and placed.setup_s
                    else None
                )
                steps.append(step)
                print(_progress(step), file=sys.stderr, flush=True)
                if not step["ok"]:
                    stop_reason = f"stopped at {target} calls: " + "; ".join(step["problems"])
                    break
        finally:
            await generator.hang_up_all()
    return {
        "steps": steps,
        "idle": {"rss_mb": _mb(idle.rss), "uss_mb": _mb(idle.uss), "cpu_pct": idle_cpu},
        "stop_reason": stop_reason,
        "dropped_calls": [c.dropped for c in generator.dropped],
        "frames_sent_total": generator.ticker.frames_sent,
        "phrase_s": round(phrase_s, 2),
    }


def _progress(step: dict[str, Any]) -> str:
    lag, gen = step["frame_lag"], step["generator"]
    return (
        f"[capacity] {step['calls']:>4} calls  cpu {step['worker_cpu_pct']:5.1f}%  rss {step['rss_mb']} MB  "
        f"lag p50/p99 {lag['p50_ms']}/{lag['p99_ms']} ms  >20ms {lag['over_limit']}  "
        f"gen p99 {gen['generator_lag_p99_ms']} ms  replies/call {gen['replies_per_call']}  "
        f"{'ok' if step['ok'] else step['problems']}"
    )


def summarize(raw: dict[str, Any], config: RampConfig, pinned: bool) -> dict[str, Any]:
    steps = raw["steps"]
    passing = [s for s in steps if s["ok"]]
    best = passing[-1] if passing else None
    capacity = best["calls"] if best else 0
    cores = 1  # the worker is pinned to one core
    mb_per_call = best["mb_per_call"] if best else None
    slope = _marginal_mb_per_call(passing)
    notes = [
        f"worker pinned to CPU {WORKER_CPU}, generator to CPU {GENERATOR_CPU}"
        if pinned
        else "fewer than 2 CPUs: worker and generator were not pinned, numbers are indicative only",
        "providers: fixed-latency fakes (STT final 150 ms, LLM first token 300 ms, TTS first audio 100 ms)",
        f"each caller says a {raw.get('phrase_s', '?')} s phrase, then is silent 4-6 s, repeating; "
        f"steps held {config.hold_s:g} s after {config.settle_s:g} s settling",
        raw["stop_reason"],
        "frame lag is the backend's switchboard_inbound_frame_lag_seconds diffed over each step; "
        "'frames > 20 ms' is exact (20 ms is a bucket edge), p50/p99 are interpolated within buckets",
        "MB/call = (RSS at the step - idle RSS after a warm-up call) / calls; "
        f"marginal RSS slope between passing steps: {slope} MB/call",
    ]
    if not passing:
        notes.append("no step passed: capacity below the first step")
    return {
        "name": NAME,
        "targets": [
            {
                "name": "calls per core at p99 inbound frame lag <= 20 ms",
                "target": f">= {TARGET_CALLS_PER_CORE} calls per core",
                "value": capacity / cores,
                "unit": "calls/core",
                "met": capacity / cores >= TARGET_CALLS_PER_CORE,
            },
            {
                "name": "memory per call at capacity",
                "target": f"<= {TARGET_MB_PER_CALL:g} MB per call",
                "value": mb_per_call,
                "unit": "MB",
                "met": mb_per_call is not None and mb_per_call <= TARGET_MB_PER_CALL,
            },
        ],
        "table": {"columns": TABLE_COLUMNS, "rows": [table_row(s) for s in steps]},
        "notes": notes,
        "capacity_calls": capacity,
        "calls_per_core": capacity / cores,
        "cpu_pct_per_call": best["cpu_pct_per_call"] if best else None,
        "mb_per_call": mb_per_call,
        "marginal_mb_per_call": slope,
        "config": {"steps": list(config.steps), "settle_s": config.settle_s, "hold_s": config.hold_s},
        **raw,
    }


def _marginal_mb_per_call(steps: list[dict[str, Any]]) -> float | None:
    if len(steps) < 2 or steps[-1]["calls"] == steps[0]["calls"]:
        return None
    return round((steps[-1]["rss_mb"] - steps[0]["rss_mb"]) / (steps[-1]["calls"] - steps[0]["calls"]), 3)


async def run(out_dir: Path, *, quick: bool, config: RampConfig | None = None) -> dict[str, Any]:
    config = config or RampConfig.for_mode(quick)
    profile = LoadProfile()
    pinned = (os.cpu_count() or 1) >= 2
    previous = pin_process({GENERATOR_CPU}) if pinned else {}
    try:
        async with running_worker("realistic", cpu=WORKER_CPU if pinned else None) as worker:
            raw = await ramp(worker, config, profile)
    finally:
        restore_affinity(previous)
    return summarize(raw, config, pinned)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.capacity", description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--steps", help="comma-separated call counts, e.g. 10,20,40")
    parser.add_argument("--hold", type=float, help="seconds each step is measured")
    parser.add_argument("--out", type=Path, default=Path("var/bench"))
    args = parser.parse_args(argv)
    config = RampConfig.for_mode(args.quick)
    if args.steps or args.hold:
        config = RampConfig(
            tuple(int(s) for s in args.steps.split(",")) if args.steps else config.steps,
            settle_s=config.settle_s,
            hold_s=args.hold or config.hold_s,
            warmup_calls=config.warmup_calls,
            warmup_s=config.warmup_s,
        )
    args.out.mkdir(parents=True, exist_ok=True)
    result = _run_fast(run(args.out, quick=args.quick, config=config))
    print(json.dumps(result, indent=2, default=str))
    return 0


def _run_fast(coro: Any) -> Any:
    """uvloop when available: the generator's ticks are cheaper on it (the bench runner may use asyncio)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


if __name__ == "__main__":
    raise SystemExit(main())
