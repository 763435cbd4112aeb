"""Benchmark: response latency and barge-in with `ORCHESTRATOR=voicelive` on the embedded realtime server.

The same calls as `bench.latency` and `bench.bargein` (their caller scripts, phrases and timeline analysis are
imported, not copied), against a backend worker whose calls run the VoiceLive orchestrator: the call's audio
goes through the azure-ai-voicelive client to the realtime server this backend embeds (`/voice-live/realtime`,
loopback), whose turn detection, STT, brain and TTS are the worker's provider set.

- latency: `instant` fakes (what is left is the realtime server's turn detection and both hops' overhead) and
  the `embedded` chain; the caller's ear (simulator timeline) and, where the transcript has them, server parts;
- barge-in: `instant` fakes, interrupting the agent's reply 300-1500 ms in; target p95 <= 150 ms as for the
  cascade.

The caller set is `bench.latency`'s, lines with mid-sentence pauses included, and turns cut mid-sentence are
counted the same way. The backend runs its defaults (VOICELIVE_TURN_END_MODE=inherit, TURN_END_MODE=semantic:
semantic turn detection on the embedded server); `VOICELIVE_TURN_END_MODE=fixed` in the environment measures
server VAD with the agent's fixed silence.

    python -m bench.run --only voicelive [--quick]
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import tempfile
from pathlib import Path
from typing import Any

from bench import bargein, latency
from bench.phrases import Phrase, make_phrase
from bench.stats import summarize, summary_row, target
from bench.worker import running_worker

NAME = "voicelive"
ENV = {"ORCHESTRATOR": "voicelive"}
LATENCY_SETS = ("instant", "embedded")
FULL_LATENCY_CALLS, QUICK_LATENCY_CALLS = 5, 1
LATENCY_ROWS = (
    "client_response_ms",
    "client_response_plain_ms",
    "client_response_paused_ms",
    "response_ms",
    "end_of_turn_ms",
    "overhead_ms",
    "client_minus_server_ms",
)

log = logging.getLogger(__name__)


async def latency_set(
    providers: str, phrases: list[Phrase], calls: int, scratch: Path | None = None
) -> dict[str, Any]:
    """`bench.latency`'s calls, one after another, against a VoiceLive worker with `providers`; with a
    `scratch` directory the fakes' recogniser knows the caller script and gives partials (`bench.turn_fakes`),
    as for the cascade, so semantic turn detection gets the words signal."""
    runs = []
    env = dict(ENV)
    if scratch is not None:
        script = scratch / f"stt-script-{providers}.json"
        await asyncio.to_thread(script.write_text, json.dumps(latency.stt_script(phrases)))
        env |= {"BENCH_STT_SCRIPT": str(script), "BENCH_PARTIAL_LAG_MS": str(latency.PARTIAL_LAG_MS)}
    async with running_worker(providers, env=env) as worker:
        for index in range(calls):
            log.info("voicelive latency[%s]: call %d/%d", providers, index + 1, calls)
            runs.append(await latency.run_call(worker, phrases, index))
    server = [t for run in runs for t in run["server_turns"]]
    pairs = [t["client_minus_server_ms"] for r in runs for t in r["turns"] if "client_minus_server_ms" in t]
    summaries = {
        "client_response_ms": summarize(t["client_response_ms"] for r in runs for t in r["turns"]),
        **{
            key: summarize(t[key] for t in server) for key in ("response_ms", "end_of_turn_ms", "overhead_ms")
        },
        "client_minus_server_ms": summarize(pairs),
        "client_response_plain_ms": summarize(
            t["client_response_ms"] for r in runs for t in r["turns"] if not t["paused"]
        ),
        "client_response_paused_ms": summarize(
            t["client_response_ms"] for r in runs for t in r["turns"] if t["paused"]
        ),
    }
    return latency.providers_result(providers, runs, summaries)


async def bargein_runs(question: Phrase, interruption: Phrase, quick: bool) -> list[dict[str, Any]]:
    """`bench.bargein`'s calls (same seed, same cut-in points) against a VoiceLive worker, instant fakes."""
    calls, per_call = (
        (bargein.QUICK_CALLS, bargein.QUICK_INTERRUPTIONS)
        if quick
        else (bargein.FULL_CALLS, bargein.FULL_INTERRUPTIONS)
    )
    rng = random.Random(bargein.SEED)
    runs = []
    async with running_worker("instant", env=ENV) as worker:
        for call in range(calls):
            delays = [rng.uniform(*bargein.AFTER_MS_RANGE) for _ in range(per_call)]
            log.info("voicelive bargein: call %d/%d", call + 1, calls)
            runs.append(await bargein.run_call(worker, question, interruption, delays, call))
    return runs


def build_result(
    sets: dict[str, dict[str, Any]],
    barge: dict[str, Any],
    phrases: list[Phrase],
    quick: bool,
) -> dict[str, Any]:
    """One result: barge-in targets (as `bench.bargein`), latency rows per provider set, both tables in one."""
    labels = {key: latency.ROW_LABELS[key] for key in LATENCY_ROWS}
    rows = [
        summary_row([f"response latency, {providers}", labels[key]], data["summaries"][key])
        for providers, data in sets.items()
        for key in LATENCY_ROWS
    ]
    rows.append(summary_row(["barge-in, instant", "onset -> StopAudio"], barge["summary"]))
    instant = sets.get("instant", {}).get("summaries", {})
    targets = [
        *({**t, "name": f"VoiceLive {t['name']}"} for t in barge["targets"]),
        target(
            "response at the caller's ear, instant providers",
            (instant.get("client_response_ms") or {}).get("p50"),
            350.0,
            "ms",
            stat="p50",
        ),
        target(
            "response at the caller's ear, instant providers",
            (instant.get("client_response_ms") or {}).get("p95"),
            500.0,
            "ms",
            stat="p95",
        ),
    ]
    spoken = sum(d["cut"]["turns"] for d in sets.values())
    cut = sum(d["cut"]["cut"] for d in sets.values())
    targets.append(
        target(
            "turns cut mid-sentence, all provider sets",
            100 * cut / spoken if spoken else None,
            100 * latency.CUT_TARGET,
            "%",
        )
    )
    turns = {p: sum(len(c["turns"]) for c in d["calls"]) for p, d in sets.items()}
    notes = [
        "ORCHESTRATOR=voicelive: calls run the VoiceLive orchestrator (azure-ai-voicelive client) against the "
        "backend's own embedded realtime server over loopback; its STT, brain and TTS are the provider set.",
        f"latency: {', '.join(f'{n} turns with {p} providers' for p, n in turns.items())} "
        f"({'quick run' if quick else 'full run'}), bench.latency's caller turns and analysis; response "
        "(caller's ear) = caller_speech_end -> next agent_audio_start on the simulator's clock. Server parts "
        "come from the transcript where the VoiceLive path reports them (n = 0 where it does not).",
        "response targets are the cascade's goals for instant providers (DESIGN.md), shown for comparison.",
        "Turns cut mid-sentence: "
        + "; ".join(f"{p} {d['cut']['cut']}/{d['cut']['turns']}" for p, d in sets.items())
        + f". Caller set: bench.latency's, {sum(1 for p in phrases if p.paused)} of {len(phrases)} lines "
        "pause mid-sentence.",
        *barge["notes"],
    ]
    for providers, data in sets.items():
        for run in data["calls"]:
            notes += [f"{providers} call {run['call_connection_id']}: {p}" for p in run["problems"]]
    histograms = {
        f"response latency, voicelive {providers} (caller's ear)": [
            t["client_response_ms"]
            for c in data["calls"]
            for t in c["turns"]
            if t["client_response_ms"] is not None
        ]
        for providers, data in sets.items()
    }
    histograms.update({f"voicelive {k}": v for k, v in barge["histograms"].items()})
    return {
        "name": NAME,
        "targets": targets,
        "table": {"columns": ["measure", "part", "n", "p50", "p95", "p99", "max", "mean"], "rows": rows},
        "notes": notes,
        "histograms": {label: values for label, values in histograms.items() if values},
        "samples": {"latency": sets, "bargein": barge["samples"]},
        "bargein_summary": barge["summary"],
        "bargein_counts": barge["counts"],
        "phrases": [p.text for p in phrases],
    }


async def run(out_dir: Path, *, quick: bool) -> dict[str, Any]:
    lines = latency.QUICK_LINES if quick else latency.caller_lines()
    calls = QUICK_LATENCY_CALLS if quick else FULL_LATENCY_CALLS
    with tempfile.TemporaryDirectory(prefix="sb-bench-voicelive-") as scratch:
        phrases = await latency.make_caller_phrases(lines, Path(scratch))
        sets = {
            providers: await latency_set(
                providers, phrases, calls, Path(scratch) if providers == "instant" else None
            )
            for providers in LATENCY_SETS
        }
        question = await make_phrase(bargein.QUESTION, Path(scratch), name="question")
        interruption = await make_phrase(bargein.INTERRUPTION, Path(scratch), name="interruption")
        runs = await bargein_runs(question, interruption, quick)
        barge = bargein.build_result(runs, {"question": question, "interruption": interruption}, quick)
    return build_result(sets, barge, phrases, quick)
