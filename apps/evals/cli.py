"""`switchboard eval [SUITE...]`: run scripted callers against the embedded stack and judge what the agent did.

Starts the backend (embedded defaults, or the Azure providers the environment configures) and the ACS simulator
on loopback, renders each caller line in each voice once (cached under var/evals/audio), places the calls a few
at a time, and prints a progress line per call, a per-call table, the pass rate by scenario and voice, and the
failures' transcripts.
Exit status: 0 when every call passed (or the pass rate reached --min-pass-rate), 1 otherwise, 2 on bad input.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from apps.evals.report import failure_transcripts, progress_line, summary, table, write_outputs
from apps.evals.runner import EvalRun, run_suites
from apps.evals.scripts import SuiteError, find_suites
from apps.evals.voices import VOICES, VoiceError


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="switchboard eval", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "suites", nargs="*", help="suite names (files under apps/evals/suites) or YAML paths; default all"
    )
    p.add_argument(
        "--voice",
        action="append",
        dest="voices",
        metavar="NAME",
        help=f"caller voice(s), overriding the suites' ({', '.join(VOICES)})",
    )
    p.add_argument(
        "--call", action="append", dest="calls", metavar="ID", help="only these call ids (repeatable)"
    )
    p.add_argument(
        "--tag", action="append", dest="tags", metavar="TAG", help="only calls with this tag (repeatable)"
    )
    p.add_argument("--concurrency", type=int, default=2, help="calls at once (default: %(default)s)")
    p.add_argument("--json", type=Path, metavar="PATH", help="write the results as JSON")
    p.add_argument("--junit", type=Path, metavar="PATH", help="write the results as JUnit XML")
    p.add_argument("--min-pass-rate", type=float, default=1.0, help="exit 0 at or above this pass rate (0-1)")
    p.add_argument("--quiet", action="store_true", help="no failure transcripts")
    p.add_argument(
        "--stt-only",
        action="store_true",
        help="no calls: decode every caller line with the embedded recogniser and report where words are lost",
    )
    p.add_argument(
        "--text",
        action="store_true",
        help="no audio: the caller's words as text, through the same agents and tools (understanding alone), on "
        "the brain the settings configure (Azure OpenAI when set, else the local brain)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        suites = find_suites(list(args.suites))
    except SuiteError as exc:
        print(f"switchboard eval: {exc}", file=sys.stderr)
        return 2

    if args.stt_only:
        from apps.evals.stt_check import run

        try:
            stt_report = run(suites, args.voices)
        except ValueError as exc:
            print(f"switchboard eval: {exc}", file=sys.stderr)
            return 2
        print(stt_report.summary())
        if args.json:
            args.json.write_text(json.dumps(stt_report.as_json(), indent=1))
        return 0

    def selected(call: object) -> bool:
        ids, tags = args.calls, args.tags
        return (not ids or getattr(call, "id", None) in ids) and (
            not tags or bool(set(tags) & set(getattr(call, "tags", [])))
        )

    def progress(run: object, done: int, total: int) -> None:
        print(progress_line(run, done, total), flush=True)  # type: ignore[arg-type]

    try:
        if args.text:
            from apps.evals.text_run import configured_brain, run_text_suites

            async def text_run() -> EvalRun:
                async with configured_brain() as llm:
                    return await run_text_suites(suites, only=selected, progress=progress, llm=llm)

            result = asyncio.run(text_run())
        else:
            result = asyncio.run(
                run_suites(
                    suites,
                    voices=args.voices,
                    concurrency=args.concurrency,
                    only=selected,
                    progress=progress,
                )
            )
    except (VoiceError, ValueError) as exc:
        print(f"switchboard eval: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    if not result.runs:
        print("switchboard eval: no call matched", file=sys.stderr)
        return 2
    if not args.quiet and any(not r.verdict.passed for r in result.runs):
        print("\nFailures:\n" + failure_transcripts(result))
    print("\n" + table(result))
    write_outputs(result, args.json, args.junit)
    return 0 if summary(result)["pass_rate"] >= args.min_pass_rate else 1


if __name__ == "__main__":
    raise SystemExit(main())
