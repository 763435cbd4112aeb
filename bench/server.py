"""The real backend as a benchmark worker: `python -m bench.server --providers instant|realistic|embedded`.

Everything but the providers comes from the environment exactly as for `switchboard serve` (ACS connection
string, JWKS URL, PORT, ...). `embedded` is the product's own provider chain; `instant` and `realistic` are
the fixed-latency fakes from `bench.fakes`. `--cpu N` pins the worker to one core so "calls per core" means
what it says.
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
    profile_path = os.environ.get("BENCH_PROFILE")  # profile the worker (pyinstrument text report) on exit
    profiler = None
    if profile_path:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005, async_mode="disabled")
        profiler.start()
    run_server(create_app(settings, providers=factory), settings)
    if profiler is not None and profile_path:
        profiler.stop()
        with open(profile_path, "w") as report:
            report.write(profiler.output_text(unicode=False, color=False, show_all=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
