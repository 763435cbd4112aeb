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
the ramp stops without blaming the backend; such a window is measured again, up to twice). That is the
server's knee. A step that fails either knee's criteria is measured once more and counts as failed only when
the second window fails too (one stall on a shared machine fails a whole window; `--no-confirm` turns this off;
the first window's problems are kept in the step as `earlier_attempt_problems`).

The caller's knee is judged the way an outside load generator sees the service: first one call alone for a
while (its reply latency p95 is the baseline), then at each step the callers' reply latency p95 must stay
within +100 ms of that baseline, with no audio gap heard, no call dropped and none failing to set up. The ramp
goes on while either knee is still ahead; each knee is the last step before that criterion first failed.

`--workers N` runs the backend with WORKERS=N (one process per worker, unpinned) and scales the steps by N;
BENCH_PROFILE=<prefix> writes a pyinstrument profile of each held step (single worker only);
BENCH_STALL_LOG=<seconds> makes the worker log its loop thread's stack whenever the loop stalls that long;
`--keep-going` runs every step (cost per call on a busy machine). Every step records the machine's CPU
pressure (PSI): a step taken while neighbours held the CPUs says more about them than about us.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import psutil

from bench.loadgen import (
    Histogram,
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

FULL_STEPS = (10, 20, 40, 60, 80, 100, 120, 140, 160, 180, 200, 240, 280, 300, 320, 360, 400, 450, 500, 600)
QUICK_STEPS = (5, 10)
RESPONSE_MARGIN_MS = 100.0  # the caller's knee: reply p95 within this of one call's
LAG_LIMIT_S = 0.020
MAX_OVER_LIMIT = 0.01  # p99 <= 20 ms  <=>  at most 1 % of frames over 20 ms
GENERATOR_LAG_LIMIT_MS = 5.0
BACKLOG_FRAMES_PER_CALL = 2
TARGET_CALLS_PER_CORE = 300
TARGET_MB_PER_CALL = 1.0
WORKER_CPU = 0
GENERATOR_CPU = 1
MB = 1024 * 1024
WARMUP_REPLY_TIMEOUT_S = 20.0
WARMUP_POLL_S = 0.2

FRAME_LAG = "switchboard_inbound_frame_lag_seconds"
LOOP_LAG = "switchboard_event_loop_lag_seconds"
FRAMES_IN = "switchboard_inbound_frames_total"
UNDERRUNS = "switchboard_playout_underruns_total"
ACTIVE = "switchboard_active_calls"
VAD_WINDOWS = "switchboard_vad_windows_total"
VAD_BATCHES = "switchboard_vad_batches_total"


@dataclass(frozen=True)
class RampConfig:
    steps: tuple[int, ...]
    settle_s: float
    hold_s: float
    warmup_calls: int = 2
    warmup_s: float = 6.0
    baseline_s: float = 60.0  # one call alone: ~9 replies for the baseline p95
    workers: int = 1
    remeasure: int = 2  # windows measured again when the generator lagged (a noisy machine)
    keep_going: bool = False  # run every step whatever happens (CPU and memory per call on a busy machine)
    confirm_failures: bool = True  # a failed step is measured once more; it fails when that window fails too

    @classmethod
    def for_mode(cls, quick: bool) -> RampConfig:
        if quick:
            return cls(QUICK_STEPS, settle_s=2.0, hold_s=8.0, warmup_calls=1, warmup_s=3.0, baseline_s=15.0)
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
    pressure_us: int | None = None  # /proc/pressure/cpu "some" total: time runnable tasks waited for a CPU


class WorkerProbe:
    """The backend's processes: the worker (or WORKERS > 1: the supervisor and its workers, summed) and the
    embedded Redis (reported apart)."""

    def __init__(self, worker: Worker, http: httpx.AsyncClient, generator: LoadGenerator | None) -> None:
        self.process = psutil.Process(worker.pid)
        self.http = http
        self.generator = generator
        self.private_urls: list[str] = []
        self.active_per_worker: list[float | None] = []
        if worker.status_file is not None:
            status = json.loads(worker.status_file.read_text())
            self.private_urls = [f"http://127.0.0.1:{w['private_port']}" for w in status["workers"]]

    def _split(self) -> tuple[list[psutil.Process], list[psutil.Process]]:
        servers: list[psutil.Process] = [self.process]
        redis: list[psutil.Process] = []
        for child in self.process.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                name = child.name()
                (redis if "valkey" in name or "redis" in name else servers).append(child)
        return servers, redis

    @staticmethod
    def _cpu_of(processes: list[psutil.Process]) -> float:
        total = 0.0
        for process in processes:
            with contextlib.suppress(psutil.Error):
                times = process.cpu_times()
                total += times.user + times.system
        return total

    async def _scrape(self) -> MetricsSnapshot | None:
        if not self.private_urls:
            return await scrape(self.http)
        snapshots = []
        for url in self.private_urls:
            snapshots.append(await scrape(self.http, f"{url}/metrics"))
        present = [s for s in snapshots if s is not None]
        self.active_per_worker = [s.value(ACTIVE) for s in present]
        return merge_snapshots(present) if len(present) == len(snapshots) else None

    async def take(self, *, memory_detail: bool = True) -> Probe:
        frames_sent = self.generator.ticker.frames_sent if self.generator is not None else 0
        metrics = await self._scrape()
        servers, redis = self._split()
        rss, uss = 0, 0 if memory_detail else None
        for process in servers:
            with contextlib.suppress(psutil.Error):
                rss += process.memory_info().rss
                if uss is not None:
                    uss += process.memory_full_info().uss
        return Probe(
            time.monotonic(),
            self._cpu_of(servers),
            self._cpu_of(redis),
            rss,
            uss or None,
            metrics,
            frames_sent,
            cpu_pressure_us(),
        )


def cpu_pressure_us() -> int | None:
    """Linux PSI: microseconds some runnable task waited for a CPU, machine-wide (None without PSI). Diffed
    over a step it says how much other load competed with the bench (a noisy neighbour)."""
    try:
        with open("/proc/pressure/cpu") as psi:
            first = psi.readline()
    except OSError:
        return None
    for field in first.split():
        if field.startswith("total="):
            return int(field[6:])
    return None


def merge_snapshots(snapshots: list[MetricsSnapshot]) -> MetricsSnapshot:
    """Several workers' /metrics as one: counters, gauges and histogram buckets summed."""
    values: dict[str, float] = {}
    labeled: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    histograms: dict[str, Histogram] = {}
    for snap in snapshots:
        for name, value in snap.values.items():
            values[name] = values.get(name, 0.0) + value
        for key, value in snap.labeled.items():
            labeled[key] = labeled.get(key, 0.0) + value
        for name, hist in snap.histograms.items():
            seen = histograms.get(name)
            histograms[name] = (
                hist
                if seen is None
                else Histogram(
                    {le: n + seen.buckets.get(le, 0.0) for le, n in hist.buckets.items()},
                    hist.count + seen.count,
                    hist.total + seen.total,
                )
            )
    return MetricsSnapshot(values, labeled, histograms)


def _pct(delta_s: float, wall_s: float) -> float:
    return round(100 * delta_s / wall_s, 1) if wall_s > 0 else 0.0


def _mb(n: float | None) -> float | None:
    return None if n is None else round(n / MB, 2)


def evaluate_step(
    calls: int,
    before: Probe,
    after: Probe,
    idle: Probe,
    window: dict[str, Any],
    dropped: int,
    failed: int,
    baseline_p95_ms: float | None = None,
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
        # CPU per inbound frame handled: what a call costs even when a busy machine starves the worker
        # (CPU % per call then reads low, since fewer frames were handled in the wall time).
        "cpu_us_per_frame": (round((after.cpu_s - before.cpu_s) * 1e6 / handled, 1) if handled else None),
        "redis_cpu_pct": _pct(after.children_cpu_s - before.children_cpu_s, wall),
        "cpu_pressure_pct": (
            _pct((after.pressure_us - before.pressure_us) / 1e6, wall)
            if after.pressure_us is not None and before.pressure_us is not None
            else None
        ),
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
        "vad_windows_per_run": _ratio(
            counter_delta(after.metrics, before.metrics, VAD_WINDOWS, result="run"),
            counter_delta(after.metrics, before.metrics, VAD_BATCHES),
        ),
        "active_calls_reported": after.metrics.value(ACTIVE) if after.metrics else None,
        "dropped_calls": dropped,
        "failed_setups": failed,
        "generator": window,
    }
    row["problems"] = step_problems(row)
    row["ok"] = not row["problems"]
    row["caller_problems"] = caller_problems(row, baseline_p95_ms)
    row["caller_ok"] = not row["caller_problems"]
    return row


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    """The shared VAD's mean batch over a step (None without the counters or without a run)."""
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 1)


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


def caller_problems(row: dict[str, Any], baseline_p95_ms: float | None) -> list[str]:
    """Why a step is past the caller's knee (empty: callers notice nothing): reply p95 more than
    RESPONSE_MARGIN_MS over one call's, an audio gap heard, a call dropped or not set up."""
    problems: list[str] = []
    gen = row["generator"]
    p95 = gen.get("response_p95_ms")
    if baseline_p95_ms is None:
        problems.append("no one-call baseline")
    elif p95 is None:
        problems.append("no replies heard in the step")
    elif p95 > baseline_p95_ms + RESPONSE_MARGIN_MS:
        problems.append(
            f"reply p95 {p95:.0f} ms > one call's {baseline_p95_ms:.0f} + {RESPONSE_MARGIN_MS:.0f} ms"
        )
    if gen.get("audio_gaps"):
        problems.append(f"{gen['audio_gaps']} audio gaps heard")
    if row["dropped_calls"]:
        problems.append(f"{row['dropped_calls']} calls dropped")
    if row["failed_setups"]:
        problems.append(f"{row['failed_setups']} calls failed to set up")
    return problems


def generator_valid(row: dict[str, Any]) -> bool:
    gen_p99 = row["generator"]["generator_lag_p99_ms"]
    return gen_p99 is None or gen_p99 <= GENERATOR_LAG_LIMIT_MS


def knees(steps: list[dict[str, Any]]) -> dict[str, Any]:
    """Each knee: the last step before its criterion first failed (0 when the first step failed), and
    whether the ramp ever crossed it (False: the knee is at least the last step run)."""
    out: dict[str, Any] = {}
    for name, key in (("server_frame_lag", "ok"), ("caller_perceived", "caller_ok")):
        knee, crossed = 0, False
        for step in steps:
            if not step[key]:
                crossed = True
                break
            knee = step["calls"]
        out[name] = {"calls": knee, "crossed": crossed}
    return out


TABLE_COLUMNS = [
    "calls",
    "worker CPU %",
    "CPU %/call",
    "CPU pressure %",
    "CPU µs/frame",
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
    "response p95 ms",
    "audio gaps",
    "server underruns",
    "gen lag max ms",
    "server ok (frame lag)",
    "caller ok",
]


def table_row(step: dict[str, Any]) -> list[Any]:
    gen = step["generator"]
    over = step["frame_lag"]["over_limit"]
    return [
        step["calls"],
        step["worker_cpu_pct"],
        step["cpu_pct_per_call"],
        step.get("cpu_pressure_pct"),
        step.get("cpu_us_per_frame"),
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
        gen.get("response_p95_ms"),
        gen["audio_gaps"],
        step.get("underruns"),
        gen.get("generator_lag_max_ms"),
        "yes" if step["ok"] else "no: " + "; ".join(step["problems"]),
        "yes" if step.get("caller_ok") else "no: " + "; ".join(step.get("caller_problems", [])),
    ]


async def _warm_up(generator: LoadGenerator, config: RampConfig) -> None:
    """A couple of calls before the idle baseline, so one-time costs (lazy imports, model arenas, the
    first call's caches) are not billed per call."""
    if config.warmup_calls <= 0:
        return
    await generator.add_calls(config.warmup_calls)
    await asyncio.sleep(config.warmup_s)
    # Until each warm-up call has heard a reply (bounded): the first reply's one-time costs (the reply path's
    # lazy imports and buffers) belong to start-up, not to the calls measured after the idle baseline.
    for _ in range(round(WARMUP_REPLY_TIMEOUT_S / WARMUP_POLL_S)):
        if all(lean.ear.replies > 0 for lean in generator.live_calls):
            break
        await asyncio.sleep(WARMUP_POLL_S)
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
            baseline = await _baseline(generator, config)
            baseline_p95 = baseline["response_p95_ms"]
            print(f"[capacity] one call: reply p95 {baseline_p95} ms", file=sys.stderr, flush=True)
            for target in config.steps:
                missing = target - len(generator.live_calls)
                placed = await generator.add_calls(missing) if missing > 0 else None
                await asyncio.sleep(config.settle_s)
                dropped_before = len(generator.dropped)
                invalid, confirming, earlier = 0, False, None
                for attempt in range(1, 3 + config.remeasure):
                    generator.begin_window()
                    before = await probe.take(memory_detail=False)
                    _profile_signal(worker, signal.SIGUSR1)
                    await asyncio.sleep(config.hold_s)
                    _profile_signal(worker, signal.SIGUSR2)
                    after = await probe.take()
                    calls = len(generator.live_calls)
                    window = summarize_window(generator.end_window(), calls)
                    step = evaluate_step(
                        calls,
                        before,
                        after,
                        idle,
                        window,
                        dropped=len(generator.dropped) - dropped_before,
                        failed=len(placed.failed) if placed else 0,
                        baseline_p95_ms=baseline_p95,
                    )
                    step["attempt"] = attempt
                    step["active_calls_per_worker"] = probe.active_per_worker or None
                    step["earlier_attempt_problems"] = earlier
                    if not generator_valid(step) and invalid < config.remeasure:
                        # The generator itself fell behind (another process had its core): the window says
                        # nothing about the backend. Measure the same calls again rather than stop.
                        invalid += 1
                        print(_progress(step) + "  (generator lagged: measuring again)", file=sys.stderr)
                        continue
                    failing = not (step["ok"] and step["caller_ok"])
                    if failing and config.confirm_failures and not confirming and generator_valid(step):
                        # One stall (a neighbour's burst, a collection) fails a whole window on a shared
                        # machine: a step counts as failed when a second window fails too.
                        confirming, earlier = True, step["problems"] + step["caller_problems"]
                        print(_progress(step) + "  (failed: measuring again to confirm)", file=sys.stderr)
                        continue
                    break
                step["setup_p50_s"] = (
                    round(sorted(placed.setup_s)[len(placed.setup_s) // 2], 3)
                    if placed and placed.setup_s
                    else None
                )
                steps.append(step)
                print(_progress(step), file=sys.stderr, flush=True)
                stop = None if config.keep_going else _stop_reason(steps)
                if stop:
                    stop_reason = f"stopped at {target} calls: {stop}"
                    break
        finally:
            await generator.hang_up_all()
    return {
        "steps": steps,
        "baseline": baseline,
        "idle": {"rss_mb": _mb(idle.rss), "uss_mb": _mb(idle.uss), "cpu_pct": idle_cpu},
        "stop_reason": stop_reason,
        "dropped_calls": [c.dropped for c in generator.dropped],
        "frames_sent_total": generator.ticker.frames_sent,
        "phrase_s": round(phrase_s, 2),
    }


async def _baseline(generator: LoadGenerator, config: RampConfig) -> dict[str, Any]:
    """One call alone for `baseline_s`: the reply latency every step is compared with. The call stays up
    (it is one of the first step's calls)."""
    await generator.add_calls(1)
    await asyncio.sleep(config.settle_s)
    generator.begin_window()
    await asyncio.sleep(config.baseline_s)
    return summarize_window(generator.end_window(), 1)


def _stop_reason(steps: list[dict[str, Any]]) -> str | None:
    """Stop when the measurement is invalid or both knees are behind us (None: go on)."""
    last = steps[-1]
    if not generator_valid(last):
        return "the generator fell behind (measurement invalid): " + "; ".join(last["problems"])
    crossed = knees(steps)
    if crossed["server_frame_lag"]["crossed"] and crossed["caller_perceived"]["crossed"]:
        return "both knees crossed: " + "; ".join(last["problems"] + last["caller_problems"])
    if last["dropped_calls"] > max(2, last["calls"] // 20):
        return f"{last['dropped_calls']} calls dropped"
    return None


def _profile_signal(worker: Worker, sig: signal.Signals) -> None:
    """With BENCH_PROFILE set, the worker profiles each held step (see bench.server)."""
    if os.environ.get("BENCH_PROFILE"):
        with contextlib.suppress(OSError):
            os.kill(worker.pid, sig)


def _progress(step: dict[str, Any]) -> str:
    lag, gen = step["frame_lag"], step["generator"]
    return (
        f"[capacity] {step['calls']:>4} calls  cpu {step['worker_cpu_pct']:5.1f}%  rss {step['rss_mb']} MB  "
        f"psi {step.get('cpu_pressure_pct')}%  cpu/frame {step.get('cpu_us_per_frame')} us  "
        f"vad batch {step.get('vad_windows_per_run')}  "
        f"lag p50/p99 {lag['p50_ms']}/{lag['p99_ms']} ms  >20ms {lag['over_limit']}  "
        f"gen p99 {gen['generator_lag_p99_ms']} ms  replies/call {gen['replies_per_call']}  "
        f"reply p95 {gen.get('response_p95_ms')} ms gaps {gen['audio_gaps']}  "
        f"server {'ok' if step['ok'] else step['problems']}  "
        f"caller {'ok' if step['caller_ok'] else step['caller_problems']}"
    )


def summarize(raw: dict[str, Any], config: RampConfig, pinned: bool) -> dict[str, Any]:
    steps = raw["steps"]
    found = knees(steps)
    server_knee, caller_knee = found["server_frame_lag"]["calls"], found["caller_perceived"]["calls"]
    by_calls = {s["calls"]: s for s in steps}
    best = by_calls.get(caller_knee)
    # Pinned single worker: one core. Several workers share every core of the machine (and the generator).
    cores = 1 if config.workers == 1 and pinned else max(1, os.cpu_count() or 1)
    mb_per_call = best["mb_per_call"] if best else None
    slope = _marginal_mb_per_call([s for s in steps if s["calls"] <= max(server_knee, caller_knee)])
    baseline = raw.get("baseline") or {}
    placement = (
        f"worker pinned to CPU {WORKER_CPU}, generator to CPU {GENERATOR_CPU}"
        if pinned and config.workers == 1
        else f"WORKERS={config.workers}: worker processes and the generator share all {cores} cores unpinned"
        if config.workers > 1
        else "fewer than 2 CPUs: worker and generator were not pinned, numbers are indicative only"
    )
    notes = [
        placement,
        "providers: fixed-latency fakes (STT final 150 ms, LLM first token 300 ms, TTS first audio 100 ms)",
        f"each caller says a {raw.get('phrase_s', '?')} s phrase, then is silent 4-6 s, repeating; "
        f"steps held {config.hold_s:g} s after {config.settle_s:g} s settling",
        f"one-call baseline over {config.baseline_s:g} s: reply p50 {baseline.get('response_p50_ms')} ms, "
        f"p95 {baseline.get('response_p95_ms')} ms ({baseline.get('replies')} replies)",
        f"caller-perceived knee: {caller_knee} calls"
        + ("" if found["caller_perceived"]["crossed"] else " (not crossed: at least this)")
        + f" (reply p95 within +{RESPONSE_MARGIN_MS:.0f} ms of one call's, no audio gap, no failed call); "
        f"server frame-lag knee: {server_knee} calls"
        + ("" if found["server_frame_lag"]["crossed"] else " (not crossed: at least this)")
        + " (p99 inbound frame lag <= 20 ms, no backlog)",
        raw["stop_reason"],
        "CPU pressure % is the machine's PSI 'some' share of each step (time runnable tasks waited for a CPU): "
        "well above 0 means other load competed with the bench and the knees are understated",
        "frame lag is the backend's switchboard_inbound_frame_lag_seconds diffed over each step; "
        "'frames > 20 ms' is exact (20 ms is a bucket edge), p50/p99 are interpolated within buckets",
        "MB/call = (RSS at the step - idle RSS after warm-up calls that each heard a reply) / calls; "
        f"marginal RSS slope up to the knees: {slope} MB/call",
    ]
    per_core = caller_knee / cores
    # CPU alone: the worker's CPU per call at the largest step with a valid generator, scaled to a full
    # core. Not a knee (latency and stalls come first on a shared machine), a ceiling to compare it with.
    cost_us, cpu_ceiling, ceiling_note = cpu_ceiling_per_core(steps, config.workers)
    notes.append(ceiling_note)
    return {
        "name": NAME,
        "targets": [
            {
                "name": "calls per core at the caller-perceived knee",
                "target": f">= {TARGET_CALLS_PER_CORE} calls per core",
                "value": per_core,
                "unit": "calls/core",
                "met": per_core >= TARGET_CALLS_PER_CORE,
            },
            {
                "name": "calls per core at the server frame-lag knee (p99 <= 20 ms)",
                "target": f">= {TARGET_CALLS_PER_CORE} calls per core",
                "value": server_knee / cores,
                "unit": "calls/core",
                "met": server_knee / cores >= TARGET_CALLS_PER_CORE,
            },
            {
                "name": "memory per call at the caller-perceived knee",
                "target": f"<= {TARGET_MB_PER_CALL:g} MB per call",
                "value": mb_per_call,
                "unit": "MB",
                "met": mb_per_call is not None and mb_per_call <= TARGET_MB_PER_CALL,
            },
        ],
        "key_figures": {
            "caller-perceived knee (calls)": caller_knee,
            "server frame-lag knee (calls)": server_knee,
            "one-call reply p95 (ms)": baseline.get("response_p95_ms"),
            "CPU per inbound frame at the largest step (µs)": cost_us,
            "CPU ceiling (calls per core, estimate)": cpu_ceiling,
            "workers": config.workers,
            "cores counted": cores,
        },
        "table": {"columns": TABLE_COLUMNS, "rows": [table_row(s) for s in steps]},
        "notes": notes,
        "knees": found,
        "capacity_calls": caller_knee,
        "calls_per_core": per_core,
        "server_knee_calls": server_knee,
        "caller_knee_calls": caller_knee,
        "cpu_pct_per_call": best["cpu_pct_per_call"] if best else None,
        "mb_per_call": mb_per_call,
        "marginal_mb_per_call": slope,
        "cpu_ceiling_calls_per_core": cpu_ceiling,
        "config": {
            "steps": list(config.steps),
            "settle_s": config.settle_s,
            "hold_s": config.hold_s,
            "baseline_s": config.baseline_s,
            "workers": config.workers,
        },
        **raw,
    }


def cpu_ceiling_per_core(steps: list[dict[str, Any]], workers: int) -> tuple[float | None, int | None, str]:
    """(CPU us per inbound frame at the largest step, calls per core where CPU alone would run out, a note).

    The ceiling extrapolates the backend's CPU between the two largest steps to 100 % of each worker's core:
    the marginal cost per call, so fixed costs (metrics, timers, Redis housekeeping) do not count per call. A
    step whose worker fell behind is scaled up by frames sent / frames handled (a starved worker reads low).
    Not a knee (latency and stalls come first, the more so on a shared machine): a ceiling to compare with."""
    usable = [s for s in steps if s.get("cpu_us_per_frame") and s.get("frames_handled")]
    if not usable:
        return None, None, "no CPU figure: no frames counted"
    last = usable[-1]

    def demand(step: dict[str, Any]) -> float:
        return float(step["worker_cpu_pct"]) * max(1.0, step["frames_sent"] / step["frames_handled"])

    if len(usable) >= 2 and usable[-1]["calls"] > usable[-2]["calls"]:
        (c1, u1), (c2, u2) = ((s["calls"], demand(s)) for s in usable[-2:])
        slope = (u2 - u1) / (c2 - c1)
        if slope > 0:
            ceiling = round((c2 + (100.0 * workers - u2) / slope) / workers)
            return (
                last["cpu_us_per_frame"],
                ceiling,
                f"CPU ceiling: from {c1} to {c2} calls the backend's CPU grew {slope:.3f}% of a core per call "
                f"({last['cpu_us_per_frame']} us per inbound frame at {c2}); CPU alone would run out near "
                f"{ceiling} calls per core (an extrapolation from CPU time, not a knee)",
            )
    ceiling = round(1e6 / (50 * last["cpu_us_per_frame"]))
    return (
        last["cpu_us_per_frame"],
        ceiling,
        f"CPU ceiling: {last['cpu_us_per_frame']} us per inbound frame at {last['calls']} calls, fixed costs "
        f"included: about {ceiling} calls per core (one step only, so fixed costs count per call: a low estimate, "
        "not a knee)",
    )


def _marginal_mb_per_call(steps: list[dict[str, Any]]) -> float | None:
    if len(steps) < 2 or steps[-1]["calls"] == steps[0]["calls"]:
        return None
    return round((steps[-1]["rss_mb"] - steps[0]["rss_mb"]) / (steps[-1]["calls"] - steps[0]["calls"]), 3)


async def run(out_dir: Path, *, quick: bool, config: RampConfig | None = None) -> dict[str, Any]:
    config = config or RampConfig.for_mode(quick)
    profile = LoadProfile()
    pinned = (os.cpu_count() or 1) >= 2 and config.workers == 1
    previous = pin_process({GENERATOR_CPU}) if pinned else {}
    env = {"WORKERS": str(config.workers)}
    try:
        async with running_worker("realistic", cpu=WORKER_CPU if pinned else None, env=env) as worker:
            raw = await ramp(worker, config, profile)
    finally:
        restore_affinity(previous)
    return summarize(raw, config, pinned)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.capacity", description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--steps", help="comma-separated call counts, e.g. 10,20,40")
    parser.add_argument("--hold", type=float, help="seconds each step is measured")
    parser.add_argument("--baseline", type=float, help="seconds the one-call baseline is measured")
    parser.add_argument("--workers", type=int, default=1, help="WORKERS for the backend; steps scale by it")
    parser.add_argument(
        "--keep-going", action="store_true", help="run every step even past both knees (cost per call)"
    )
    parser.add_argument("--no-confirm", action="store_true", help="a failed step is not measured again")
    parser.add_argument("--out", type=Path, default=Path("var/bench"))
    args = parser.parse_args(argv)
    config = RampConfig.for_mode(args.quick)
    steps = tuple(int(s) for s in args.steps.split(",")) if args.steps else config.steps
    config = replace(
        config,
        steps=steps if args.steps else tuple(n * args.workers for n in steps),
        hold_s=args.hold or config.hold_s,
        baseline_s=args.baseline or config.baseline_s,
        workers=args.workers,
        keep_going=args.keep_going,
        confirm_failures=not args.no_confirm,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    result = _run_fast(run(args.out, quick=args.quick, config=config))
    name = "capacity" if config.workers == 1 else f"capacity-workers{config.workers}"
    (args.out / f"{name}.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
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
