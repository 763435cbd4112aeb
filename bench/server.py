"""The real backend as a benchmark worker: `python -m bench.server --providers instant|realistic|embedded`.

Everything but the providers comes from the environment exactly as for `switchboard serve` (ACS connection
string, JWKS URL, PORT, ...). `embedded` is the product's own provider chain; `instant` and `realistic` are
the fixed-latency fakes from `bench.fakes`. `--cpu N` pins the worker to one core so "calls per core" means
what it says.
BENCH_PROFILE=<prefix> profiles the worker between SIGUSR1 and SIGUSR2 (see `_profile_on_signals`).
"""

from __future__ import annotations

import argparse
import os

PROVIDERS = ("instant", "realistic", "embedded")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.server", description=__doc__)
    parser.add_argument("--providers", choices=PROVIDERS, default="instant")
    parser.add_argument("--port", type=int, default=None, help="default: PORT or 8000")
    parser.add_argument("--cpu", type=int, default=None, help="pin the worker process to this CPU")
    parser.add_argument(
        "--stt-script",
        default=os.environ.get("BENCH_STT_SCRIPT") or None,
        help="fakes only (default: BENCH_STT_SCRIPT): a caller script (bench.turn_fakes) for a recogniser that "
        "gives partials as the words are heard",
    )
    parser.add_argument(
        "--partial-lag-ms",
        type=float,
        default=float(os.environ.get("BENCH_PARTIAL_LAG_MS", "100")),
        help="with --stt-script: how late partials come (default: BENCH_PARTIAL_LAG_MS or 100)",
    )
    args = parser.parse_args(argv)
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})

    from apps.backend.app import create_app
    from apps.backend.cli import run_server
    from apps.backend.logging_setup import configure_logging
    from apps.backend.providers import ProviderFactory, build_providers
    from apps.backend.settings import Settings
    from bench.fakes import FakeLatencies, fake_provider_factory

    settings = Settings(**({"port": args.port} if args.port is not None else {}))
    configure_logging(settings.log_level, settings.log_format)
    factory: ProviderFactory
    if args.providers == "embedded":
        factory = build_providers
    else:
        latencies = FakeLatencies.instant() if args.providers == "instant" else FakeLatencies.realistic()
        factory = fake_provider_factory(latencies)
        if args.stt_script:
            from pathlib import Path

            from bench.turn_fakes import load_script, scripted_provider_factory

            script = load_script(Path(args.stt_script))
            factory = scripted_provider_factory(latencies, script, args.partial_lag_ms)
    profile_path = os.environ.get("BENCH_PROFILE")
    if profile_path:
        _profile_on_signals(profile_path)
    _log_slow_collections()
    if os.environ.get("BENCH_STALL_LOG"):
        _watch_stalls(float(os.environ["BENCH_STALL_LOG"]))
    run_server(create_app(settings, providers=factory), settings)
    return 0


def _log_slow_collections(threshold_s: float = 0.010) -> None:
    """Log every cyclic GC pass longer than `threshold_s` (a stall for every call on the loop): the worker
    log then tells a collection from a noisy neighbour when a step shows a stall."""
    import gc
    import logging
    import time

    log = logging.getLogger("bench.server.gc")
    started: dict[str, float] = {}
    counts = [0, 0, 0]
    seconds = [0.0, 0.0, 0.0]
    summary_every_s = 10.0
    last_summary = [time.perf_counter()]

    def watch(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started["t"] = time.perf_counter()
            return
        now = time.perf_counter()
        took = now - started.get("t", now)
        generation = info["generation"]
        counts[generation] += 1
        seconds[generation] += took
        if now - last_summary[0] >= summary_every_s:  # all collections, for the share of the loop they take
            log.warning(  # the worker logs warnings and up
                "gc over %.0f s: %s collections, %s ms (generations 0/1/2)",
                now - last_summary[0],
                "/".join(map(str, counts)),
                "/".join(f"{s * 1e3:.0f}" for s in seconds),
            )
            counts[:] = [0, 0, 0]
            seconds[:] = [0.0, 0.0, 0.0]
            last_summary[0] = now
        if took >= threshold_s:
            log.warning(
                "slow gc: generation %d, %.1f ms, %d collected",
                info["generation"],
                took * 1e3,
                info["collected"],
            )

    gc.callbacks.append(watch)


def _watch_stalls(threshold_s: float) -> None:
    """BENCH_STALL_LOG=<seconds>: a watchdog thread logs the event loop thread's stack whenever the loop has
    not turned for `threshold_s`, with the CPU time that thread spent meanwhile: about the stall's length
    means our code ran (the stack says which), about zero means the process was not scheduled (a
    neighbour had the core)."""
    import asyncio
    import logging
    import sys
    import threading
    import time
    import traceback

    log = logging.getLogger("bench.server.stall")
    main = threading.main_thread()
    beat = {"t": time.monotonic()}

    def heartbeat() -> None:
        beat["t"] = time.monotonic()
        asyncio.get_running_loop().call_later(0.002, heartbeat)

    def watchdog() -> None:
        assert main.native_id is not None
        clock = time.pthread_getcpuclockid(main.ident or 0)
        reported = 0.0
        while main.is_alive():
            time.sleep(threshold_s / 4)
            now = time.monotonic()
            late = now - beat["t"]
            if late < threshold_s or beat["t"] == reported:
                continue
            reported = beat["t"]
            cpu_before = time.clock_gettime(clock)
            frame = sys._current_frames().get(main.ident or 0)
            stack = "".join(traceback.format_stack(frame, limit=12)) if frame is not None else "?"
            time.sleep(threshold_s / 4)
            busy = (time.clock_gettime(clock) - cpu_before) / (threshold_s / 4)
            log.warning(
                "loop stalled %.0f ms (loop thread busy %.0f%% just after)\n%s", late * 1e3, busy * 100, stack
            )

    def start() -> None:
        asyncio.get_running_loop().call_soon(heartbeat)
        threading.Thread(target=watchdog, name="stall-watchdog", daemon=True).start()

    import uvicorn.server

    original = uvicorn.server.Server.startup

    async def startup(self: uvicorn.server.Server, sockets: object = None) -> None:
        start()
        await original(self, sockets=sockets)  # type: ignore[arg-type]

    uvicorn.server.Server.startup = startup  # type: ignore[method-assign]


def _profile_on_signals(path_prefix: str) -> None:
    """BENCH_PROFILE=<prefix>: SIGUSR1 starts a pyinstrument profile of the event loop thread, SIGUSR2 stops
    it and writes `<prefix>-<n>.txt` (the capacity bench sends them around a held step), so a profile covers
    exactly the load it is about and needs no clean exit."""
    import itertools
    import signal

    from pyinstrument import Profiler

    interval = float(os.environ.get("BENCH_PROFILE_INTERVAL_S", "0.001"))
    state: dict[str, Profiler] = {}
    numbers = itertools.count(1)

    def start(*_: object) -> None:
        if "p" not in state:
            state["p"] = Profiler(interval=interval, async_mode="disabled")
            state["p"].start()

    def stop(*_: object) -> None:
        profiler = state.pop("p", None)
        if profiler is None:
            return
        profiler.stop()
        with open(f"{path_prefix}-{next(numbers)}.txt", "w") as report:
            report.write(profiler.output_text(unicode=False, color=False, show_all=False))

    signal.signal(signal.SIGUSR1, start)
    signal.signal(signal.SIGUSR2, stop)


if __name__ == "__main__":
    raise SystemExit(main())
