"""`switchboard call` / `python -m apps.acs_simulator`: place a simulated PSTN call to a running backend.

    python -m apps.acs_simulator --say "I lost my card" --pause 1 --say "yes, block it" --dtmf 1

Script options (--say, --pause, --wav, --dtmf, --wait) run in the order written. Unless --no-auto-wait is
given, the caller waits for the agent to finish speaking before each --say/--wav/--dtmf (and after the last
one) unless that step directly follows a --pause or --wait.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic_settings import BaseSettings, SettingsConfigDict

from apps import loopback_acs as defaults
from apps.acs_simulator.caller_audio import (
    CallerStep,
    Pause,
    PlayWav,
    Say,
    ScriptError,
    SendDtmf,
    WaitForAgent,
    validate_script,
)
from apps.acs_simulator.inbound import CallResult, CallSimulationError
from apps.acs_simulator.server import DEFAULT_FROM, DEFAULT_TO, AcsSimulator
from apps.twilio_simulator import cli as twilio_cli

SPEAKING_STEPS = ("say", "wav", "dtmf")


class _Step(argparse.Action):
    """Appends (kind, value) to namespace.steps so the order across options is the order written."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        steps = list(getattr(namespace, "steps", None) or [])
        steps.append((self.dest, values))
        namespace.steps = steps


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="switchboard call", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--backend", default="http://127.0.0.1:8000", help="backend base URL (default: %(default)s)"
    )
    p.add_argument(
        "--host", default=defaults.SIMULATOR_HOST, help="simulator listen host (default: %(default)s)"
    )
    p.add_argument(
        "--port",
        type=int,
        default=defaults.SIMULATOR_PORT,
        help="simulator listen port; the backend's embedded ACS settings point here (default: %(default)s)",
    )
    p.add_argument(
        "--event-grid-secret",
        default=None,
        help="the backend's EVENT_GRID_SECRET, sent as ?code= on the webhook (default: $EVENT_GRID_SECRET, "
        "then .env, then the loopback default the backend expects with no settings)",
    )
    p.set_defaults(steps=[])
    p.add_argument("--say", action=_Step, metavar="TEXT", help="caller says TEXT (repeatable)")
    p.add_argument(
        "--pause", action=_Step, type=float, metavar="SECONDS", help="caller is silent (repeatable)"
    )
    p.add_argument(
        "--wav", action=_Step, type=Path, metavar="PATH", help="caller plays a WAV file (repeatable)"
    )
    p.add_argument("--dtmf", action=_Step, metavar="DIGITS", help="caller presses keys 0-9 * # (repeatable)")
    p.add_argument("--wait", action=_Step, nargs=0, help="wait for the agent to finish speaking (repeatable)")
    p.add_argument(
        "--no-auto-wait",
        dest="auto_wait",
        action="store_false",
        help="do not wait for the agent between steps",
    )
    p.add_argument("--to", default=DEFAULT_TO, help="number dialled (default: %(default)s)")
    p.add_argument(
        "--from", dest="from_number", default=DEFAULT_FROM, help="caller number (default: %(default)s)"
    )
    p.add_argument("--out", type=Path, help="agent recording WAV (default: calls/<call id>.wav)")
    p.add_argument("--json", metavar="PATH|-", help="write the timeline as JSON to PATH, or stdout with -")
    p.add_argument(
        "--max-seconds", type=float, default=60.0, help="hang up after this long (default: %(default)s)"
    )
    p.add_argument(
        "--hangup-after-silence",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="once the script is done, hang up after the agent is silent this long (default: %(default)s)",
    )
    p.add_argument(
        "--answer-timeout",
        type=float,
        default=15.0,
        metavar="SECONDS",
        help="give up if the backend has not answered by then (default: %(default)s)",
    )
    twilio_cli.add_arguments(p)
    return p


def build_script(steps: Sequence[tuple[str, Any]], *, auto_wait: bool = True) -> list[CallerStep]:
    script: list[CallerStep] = []
    previous: str | None = None
    for kind, value in steps:
        if auto_wait and kind in SPEAKING_STEPS and previous not in ("pause", "wait"):
            script.append(WaitForAgent())
        if kind == "say":
            script.append(Say(value))
        elif kind == "pause":
            script.append(Pause(value))
        elif kind == "wav":
            script.append(PlayWav(value))
        elif kind == "dtmf":
            script.append(SendDtmf(value))
        elif kind == "wait":
            script.append(WaitForAgent())
        previous = kind
    if auto_wait and previous in SPEAKING_STEPS:
        script.append(WaitForAgent())
    return script


def summarize(result: CallResult) -> str:
    ok = sum(1 for c in result.callbacks if c.status_code is not None and 200 <= c.status_code < 300)
    lines = [
        f"call {result.call_connection_id}: answered with {result.audio_format} "
        f"({result.sample_rate // 1000} kHz), hung up by {result.hung_up_by} ({result.end_reason})",
        "",
        result.timeline.format_table(),
        "",
        f"agent audio: {result.agent_audio_messages} AudioData messages, "
        f"{result.stop_audio_count} StopAudio; callbacks: {ok}/{len(result.callbacks)} accepted",
    ]
    if result.media_error:
        lines.append(f"media: {result.media_error}")
    if result.script_error:
        lines.append(f"script: {result.script_error}")
    lines += [f"warning: {w}" for w in result.warnings]
    if result.wav_path is not None:
        lines.append(f"recording: {result.wav_path}")
    return "\n".join(lines)


class _BackendSecret(BaseSettings):
    """EVENT_GRID_SECRET read the way the backend reads it (environment, then .env)."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")
    event_grid_secret: str | None = None


def event_grid_secret(given: str | None) -> str:
    """The secret a `make run` backend expects: the one given, else its own setting, else the loopback default."""
    return given or _BackendSecret().event_grid_secret or defaults.SIMULATOR_EVENT_GRID_SECRET


async def _place(args: argparse.Namespace, script: list[CallerStep]) -> CallResult:
    secret = event_grid_secret(args.event_grid_secret)
    async with AcsSimulator(host=args.host, port=args.port, event_grid_secret=secret) as sim:
        return await sim.place_call(
            args.backend,
            script,
            to_number=args.to,
            from_number=args.from_number,
            max_duration_s=args.max_seconds,
            hang_up_after_silence_s=args.hangup_after_silence,
            answer_timeout_s=args.answer_timeout,
        )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        script = build_script(args.steps, auto_wait=args.auto_wait)
        validate_script(script)
    except ScriptError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.carrier == "twilio":
        try:
            return twilio_cli.run(args, script)
        except OSError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    try:
        result = asyncio.run(_place(args, script))
    except (CallSimulationError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    result.write_wav(args.out or Path("calls") / f"{result.call_connection_id}.wav")
    human = sys.stderr if args.json == "-" else sys.stdout
    print(summarize(result), file=human)
    if args.json == "-":
        print(result.timeline.to_json())
    elif args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(result.timeline.to_json() + "\n")
        print(f"timeline: {args.json}", file=human)
    failures = result.failures()
    for failure in failures:
        print(f"call failed: {failure}", file=sys.stderr)
    return 1 if failures else 0
