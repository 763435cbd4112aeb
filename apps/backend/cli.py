"""`switchboard` command line: `serve` runs the backend, `check` checks its configuration, `call` places a
simulated PSTN call, `eval` runs scripted caller evals."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from apps.backend.settings import Settings


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    return {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}


def _serve(args: argparse.Namespace) -> int:
    from apps.backend.gc_tuning import pause_collection_for_start_up

    pause_collection_for_start_up()  # back on at the end of the lifespan's start-up (or in the supervisor)
    from apps.backend.checks import preflight

    # Every configuration problem as one line, before any model loads (and never as a traceback).
    report = preflight(_overrides(args))
    if report.problems or report.settings is None:
        for problem in report.problems:
            print(f"switchboard serve: {problem.subject}: {problem.detail}", file=sys.stderr)
        print(
            "switchboard serve: not started; `switchboard check` reports the whole configuration",
            file=sys.stderr,
        )
        return 1
    settings = report.settings

    from apps.backend.early_models import start_early_model_loads

    start_early_model_loads(settings)  # beside the app's imports below, on the other core
    from apps.backend.app import create_app
    from apps.backend.logging_setup import configure_logging

    configure_logging(settings.log_level, settings.log_format)
    run_server(create_app(settings), settings)
    return 0


def _check(args: argparse.Namespace) -> int:
    from apps.backend.checks import full_check

    report = full_check(_overrides(args))
    for finding in report.findings:
        print(finding)
    count = len(report.problems)
    print(f"{count} problem{'s' if count != 1 else ''}" if count else "configuration ok")
    return 1 if count else 0


def run_server(app: Any, settings: Settings) -> None:
    """Serve `app` with the production server options (also used by the benchmark worker). WORKERS > 1:
    one process per worker under a supervisor (`apps.backend.workers`), each running this same server."""
    if settings.workers > 1:
        from apps.backend.workers import run_workers

        raise SystemExit(run_workers(app, settings))
    import uvicorn

    uvicorn.run(app, host=settings.host, port=settings.port, **server_options(app, settings))


def server_options(app: Any, settings: Settings) -> dict[str, Any]:
    """uvicorn options shared by the single-process server and each worker of a multi-worker one."""
    max_size = 1 << 20
    ws: Any = "auto"
    if settings.media_websocket == "direct":
        from apps.backend.media_ws.dispatch import media_protocol_class

        ws = media_protocol_class(app, max_size=max_size)
    return {
        "log_config": None,
        "loop": "uvloop" if sys.platform != "win32" else "asyncio",
        "ws": ws,
        "ws_max_size": max_size,
        "timeout_graceful_shutdown": 10,
    }


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:2] == ["agents", "validate"]:
        from registries.cli import validate_main

        return validate_main(argv[2:])
    if argv and argv[0] == "call":
        from apps.acs_simulator.cli import main as call_main

        return call_main(argv[1:])
    if argv and argv[0] == "eval":
        from apps.evals.cli import main as eval_main

        return eval_main(argv[1:])
    parser = argparse.ArgumentParser(prog="switchboard", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the backend (embedded defaults unless configured)")
    serve.add_argument("--host", default=None, help="bind address (default: HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (default: PORT or 8000)")
    check = commands.add_parser(
        "check", help="check settings, registry and configured services; exit 1 on any problem"
    )
    check.set_defaults(host=None, port=None)
    commands.add_parser("call", help="place a simulated PSTN call: switchboard call --help")
    commands.add_parser(
        "eval", help="run scripted caller evals on the embedded stack: switchboard eval --help"
    )
    agents = commands.add_parser("agents", help="agent registry tools: switchboard agents validate [DIR]")
    agents.add_subparsers(dest="agents_command", required=True).add_parser("validate", help="validate YAML")
    args = parser.parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    if args.command == "check":
        return _check(args)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
