"""`switchboard call --carrier twilio`: the same caller script, over Twilio's webhook and Media Streams."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from apps.acs_simulator.caller_audio import CallerStep
from apps.acs_simulator.playout import write_wav
from apps.twilio_simulator.phone import TwilioCallResult, place_twilio_call
from apps.twilio_simulator.stream import RATE


class _BackendToken(BaseSettings):
    """TWILIO_AUTH_TOKEN read the way the backend reads it (environment, then .env)."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")
    twilio_auth_token: str | None = None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--carrier", choices=("acs", "twilio"), default="acs", help="phone network to simulate (default: acs)"
    )
    parser.add_argument(
        "--twilio-auth-token",
        default=None,
        help="with --carrier twilio: the backend's TWILIO_AUTH_TOKEN, to sign the webhook "
        "(default: $TWILIO_AUTH_TOKEN or .env)",
    )


def summarize(result: TwilioCallResult) -> str:
    lines = [
        f"twilio call {result.call_sid}: stream {'connected' if result.connected else 'not connected'}, "
        f"hung up by {result.hung_up_by or 'nobody'}",
        "",
        result.timeline.format_table(),
        "",
        f"agent audio: {result.agent_audio_s:.1f} s heard, {result.clears} clear, "
        f"{len(result.marks_echoed)} marks played",
    ]
    if result.close_code is not None:
        lines.append(f"stream closed by the backend: {result.close_code} {result.close_reason}")
    if result.script_error:
        lines.append(f"script: {result.script_error}")
    return "\n".join(lines)


def run(args: argparse.Namespace, script: list[CallerStep]) -> int:
    token = args.twilio_auth_token or _BackendToken().twilio_auth_token
    if not token:
        print("error: --carrier twilio needs --twilio-auth-token or TWILIO_AUTH_TOKEN", file=sys.stderr)
        return 2
    result = asyncio.run(
        place_twilio_call(
            args.backend,
            script,
            auth_token=token,
            to_number=args.to,
            from_number=args.from_number,
            hang_up_after_silence_s=args.hangup_after_silence,
            max_duration_s=args.max_seconds,
        )
    )
    if result.webhook_status != 200:
        print(
            f"call failed: webhook answered {result.webhook_status}: {result.webhook_body}", file=sys.stderr
        )
        return 1
    path = write_wav(args.out or Path("calls") / f"{result.call_sid}.wav", result.agent_pcm, RATE)
    print(summarize(result))
    print(f"recording: {path}")
    return 1 if result.script_error else 0
