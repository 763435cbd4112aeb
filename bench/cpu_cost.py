"""CPU per call-second at a fixed load: the capacity bench's worker and generator, one step, held.

`python -m bench.cpu_cost --calls 150 --hold 60` starts the real backend (`bench.server --providers
realistic`, pinned to CPU 0, the generator on CPU 1 as in `bench.capacity`), warms it up, places `--calls`
calls, lets them settle, then reads the worker's CPU time (user + system, its embedded Redis apart) over
`--hold` seconds. The figure is CPU seconds per call-second: what one call costs the worker, which does not
depend on whether the machine is busy enough to move the knee. Unlike the knee it can be measured on a
shared machine: a neighbour slows the worker down but does not change how much CPU a call's frames take
(the CPU per inbound frame handled is reported too, for a worker that fell behind).

Run it alternately on two trees (old, new) for an A/B; `--label` names the run in the JSON. With
`--profile PREFIX` the worker writes a pyinstrument profile of the held window to `PREFIX-1.txt` (profiling
costs CPU itself: take CPU figures from runs without it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

from bench.capacity import (
    FRAME_LAG,
    FRAMES_IN,
    GENERATOR_CPU,
    WORKER_CPU,
    RampConfig,
    WorkerProbe,
    _run_fast,
    _warm_up,
)
from bench.loadgen import (
    LoadGenerator,
    LoadProfile,
    counter_delta,
    histogram_delta,
    lag_summary,
    pin_process,
    restore_affinity,
    summarize_window,
)
from bench.worker import Worker, running_worker


def worker_times(pid: int) -> tuple[float, float, float]:
    """(user, system, event loop thread) CPU seconds of the worker process itself (threads included,
    children not). The loop thread is the process's main thread; the others are the end-of-turn model's,
    the executors' (SQLite, ...) and onnxruntime's."""
    process = psutil.Process(pid)
    times = process.cpu_times()
    main = next((t for t in process.threads() if t.id == pid), None)
    return times.user, times.system, (main.user_time + main.system_time) if main is not None else 0.0


def machine_busy() -> tuple[float, float]:
    """(busy jiffies, total jiffies) of every CPU from /proc/stat."""
    with open("/proc/stat") as stat:
        fields = [float(v) for v in stat.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)
    return sum(fields) - idle, sum(fields)


async def measure(
    worker: Worker, calls: int, settle_s: float, hold_s: float, profile: bool
) -> dict[str, Any]:
    generator = LoadGenerator(worker.simulator, worker.url, LoadProfile())
    await generator.start()
    try:
        async with httpx.AsyncClient(base_url=worker.url, timeout=10.0) as http:
            probe = WorkerProbe(worker, http, generator)
            await _warm_up(generator, RampConfig.for_mode(quick=False))
            placed = await generator.add_calls(calls)
            await asyncio.sleep(settle_s)
            generator.begin_window()
            busy_before = machine_busy()
            load_before = os.getloadavg()
            before = await probe.take(memory_detail=False)
            times_before = worker_times(worker.pid)
            if profile:
                os.kill(worker.pid, signal.SIGUSR1)
            print(
                f"[cpu_cost] window open: worker pid {worker.pid}, {hold_s:g} s", file=sys.stderr, flush=True
            )
            await asyncio.sleep(hold_s)
            if profile:
                os.kill(worker.pid, signal.SIGUSR2)
            after = await probe.take(memory_detail=False)
            times_after = worker_times(worker.pid)
            busy_after = machine_busy()
            live = len(generator.live_calls)
            window = summarize_window(generator.end_window(), live)
    finally:
        await generator.hang_up_all()
    wall = after.at - before.at
    cpu = after.cpu_s - before.cpu_s
    handled = counter_delta(after.metrics, before.metrics, FRAMES_IN, result="ok")
    lag = lag_summary(histogram_delta(after.metrics, before.metrics, FRAME_LAG), limit_s=0.020)
    busy = (busy_after[0] - busy_before[0]) / max(1.0, busy_after[1] - busy_before[1])
    pressure = (
        round(100 * (after.pressure_us - before.pressure_us) / 1e6 / wall, 1)
        if after.pressure_us is not None and before.pressure_us is not None
        else None
    )
    return {
        "calls": live,
        "placed": placed.up,
        "failed_setups": len(placed.failed),
        "wall_s": round(wall, 2),
        "worker_cpu_s": round(cpu, 3),
        "worker_cpu_pct": round(100 * cpu / wall, 1),
        "worker_user_pct": round(100 * (times_after[0] - times_before[0]) / wall, 1),
        "worker_system_pct": round(100 * (times_after[1] - times_before[1]) / wall, 1),
        "loop_thread_cpu_pct": round(100 * (times_after[2] - times_before[2]) / wall, 1),
        "loop_thread_pct_per_call": round(100 * (times_after[2] - times_before[2]) / (live * wall), 3)
        if live
        else None,
        "other_threads_cpu_pct": round(100 * (cpu - (times_after[2] - times_before[2])) / wall, 1),
        "cpu_s_per_call_s": round(cpu / (live * wall), 6) if live else None,
        "cpu_pct_per_call": round(100 * cpu / (live * wall), 3) if live else None,
        "cpu_us_per_frame": round(cpu * 1e6 / handled, 1) if handled else None,
        "frames_handled": None if handled is None else int(handled),
        "frames_sent": window["frames_sent"],
        "redis_cpu_pct": round(100 * (after.children_cpu_s - before.children_cpu_s) / wall, 1),
        "frame_lag": lag,
        "machine_busy_pct": round(100 * busy, 1),
        "cpu_pressure_pct": pressure,
        "loadavg_before": [round(v, 2) for v in load_before],
        "loadavg_after": [round(v, 2) for v in os.getloadavg()],
        "generator": window,
    }


async def run(calls: int, settle_s: float, hold_s: float, profile_prefix: str | None) -> dict[str, Any]:
    pinned = (os.cpu_count() or 1) >= 2
    previous = pin_process({GENERATOR_CPU}) if pinned else {}
    env = {"WORKERS": "1"}
    if profile_prefix:
        env["BENCH_PROFILE"] = profile_prefix
    try:
        async with running_worker("realistic", cpu=WORKER_CPU if pinned else None, env=env) as worker:
            return await measure(worker, calls, settle_s, hold_s, profile_prefix is not None)
    finally:
        restore_affinity(previous)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cpu_cost", description=__doc__)
    parser.add_argument("--calls", type=int, default=150)
    parser.add_argument(
        "--settle", type=float, default=8.0, help="seconds between the last call up and the window"
    )
    parser.add_argument("--hold", type=float, default=60.0, help="seconds measured")
    parser.add_argument("--label", default="", help="a name for this run in the JSON (e.g. old / new)")
    parser.add_argument("--profile", help="write a pyinstrument profile of the window to PREFIX-1.txt")
    parser.add_argument("--out", type=Path, help="append the result as one JSON line to this file")
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        help="run the bench and its worker at this nice value (root only below 0): on a machine oversubscribed "
        "by other work, enough CPU for the fixed load that the worker is not starved into another regime",
    )
    args = parser.parse_args(argv)
    if args.nice:
        os.setpriority(os.PRIO_PROCESS, 0, args.nice)  # the worker and its Redis inherit it
    started = time.time()
    result = {"label": args.label, "started_unix": round(started), "nice": args.nice}
    result.update(_run_fast(run(args.calls, args.settle, args.hold, args.profile)))
    line = json.dumps(result, default=str)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with args.out.open("a") as out:
            out.write(line + "\n")
    print(line)
    print(
        f"[cpu_cost] {args.label or '-'} {result['calls']} calls: {result['cpu_pct_per_call']}% of a core per call, "
        f"{result['cpu_us_per_frame']} us/frame, worker {result['worker_cpu_pct']}%, "
        f"machine busy {result['machine_busy_pct']}%, psi {result['cpu_pressure_pct']}%",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
