"""Benchmark: live guidance adds no latency to the call's turns.

The same scripted banking calls as the latency benchmark (espeak phrases through the ACS simulator into a
backend worker with the instant providers, so a slowdown of ours would not hide behind model time), run with
guidance off, with the embedded engine (computed in a worker thread after every caller turn), and with
a chat model behind it (the loopback OpenAI fake answering each guidance request after `MODEL_DELAY_S`: the
requests are in flight while the caller's next turns are answered). The guidance interval is the least
allowed, so guidance runs after every turn. Per set: the response time at the caller's ear and the server's
response_ms (p50/p95), the difference to the run without guidance, and how many guidance events a follower
of the call's events socket received (proof that guidance ran)."""

from __future__ import annotations

import asyncio
import json
import logging
import tempfile
from pathlib import Path
from typing import Any

import websockets
from websockets.exceptions import ConnectionClosed

from bench.latency import (
    PARTIAL_LAG_MS,
    QUICK_LINES,
    caller_lines,
    make_caller_phrases,
    run_call,
    stt_script,
)
from bench.phrases import Phrase
from bench.stats import rounded, summarize, target
from bench.worker import ADMIN_KEY, Worker, running_worker
from tests.fakes.openai_server import FakeOpenAIServer, TextTurn

NAME = "guidance"
FULL_CALLS = 3
QUICK_CALLS = 1
MODEL_DELAY_S = 0.3
OPENAI_KEY = "bench-openai-key-0123456789"
ADDED_TARGET_MS = 20.0
"""Guidance on minus off, p50 at the caller's ear: under this is noise between runs, not a cost."""
BANKING_ANSWER = json.dumps(
    {
        "checklist": {
            item: {"status": "missing", "turn": None}
            for item in ("identity_verified", "reason_captured", "next_steps_stated", "resolution_confirmed")
        },
        "tone": {"tone": "calm", "confidence": 0.9},
        "coaching": ["Verify the caller before reading balances."],
    }
)

log = logging.getLogger(__name__)


async def _newest_call_id(worker: Worker, known: set[str]) -> str:
    async with worker.admin() as admin:
        while True:
            calls = (await admin.get("/api/v1/live-calls")).json()["calls"]
            fresh = [c["call_id"] for c in calls if c["call_id"] not in known]
            if fresh:
                return str(fresh[0])
            await asyncio.sleep(0.05)


async def _guidance_events(worker: Worker, known: set[str]) -> dict[str, int]:
    """Guidance events of the next call per engine, counted by a follower of its events socket."""
    call_id = await _newest_call_id(worker, known)
    known.add(call_id)
    url = f"{worker.url.replace('http', 'ws', 1)}/api/v1/calls/{call_id}/events"
    count: dict[str, int] = {}
    async with websockets.connect(url, additional_headers={"x-api-key": ADMIN_KEY}) as ws:
        try:
            async for message in ws:
                event = json.loads(message)
                if event["type"] == "guidance":
                    engine = event["guidance"]["engine"]
                    count[engine] = count.get(engine, 0) + 1
        except ConnectionClosed:
            pass
    return count


async def run_set(label: str, env: dict[str, str], phrases: list[Phrase], calls: int) -> dict[str, Any]:
    runs: list[dict[str, Any]] = []
    events: dict[str, int] = {}
    known: set[str] = set()
    async with running_worker("instant", env=env) as worker:
        for index in range(calls):
            log.info("guidance[%s]: call %d/%d", label, index + 1, calls)
            follower = asyncio.create_task(_guidance_events(worker, known))
            try:
                runs.append(await run_call(worker, phrases, index))
                for engine, n in (await asyncio.wait_for(follower, 30)).items():
                    events[engine] = events.get(engine, 0) + n
            finally:
                follower.cancel()
    turns = [t for run in runs for t in run["turns"]]
    return {
        "set": label,
        "calls": runs,
        "guidance_events": events,
        "client_response_ms": summarize(t["client_response_ms"] for t in turns),
        "response_ms": summarize(t.get("response_ms") for t in turns),
    }


def _delta(value: float | int | None, base: float | int | None) -> float | None:
    return None if value is None or base is None else float(value) - float(base)


def build_result(sets: dict[str, dict[str, Any]], quick: bool) -> dict[str, Any]:
    off = sets["off"]
    rows = []
    for label, data in sets.items():
        for key, part in (
            ("client_response_ms", "response (caller's ear)"),
            ("response_ms", "response (server)"),
        ):
            summary, base = data[key], off[key]
            rows.append(
                [
                    label,
                    part,
                    summary["n"],
                    rounded(summary["p50"]),
                    rounded(summary["p95"]),
                    rounded(_delta(summary["p50"], base["p50"])),
                    rounded(_delta(summary["p95"], base["p95"])),
                    ", ".join(f"{n} {engine}" for engine, n in data["guidance_events"].items()) or "none",
                ]
            )
    targets = [
        target(
            f"guidance added ({label}), caller's ear",
            _delta(sets[label]["client_response_ms"]["p50"], off["client_response_ms"]["p50"]),
            ADDED_TARGET_MS,
            "ms",
            stat="p50",
        )
        for label in sets
        if label != "off"
    ]
    notes = [
        f"{'quick run' if quick else 'full run'}: {len(off['calls'])} banking call(s), "
        f"{sum(len(c['turns']) for c in off['calls'])} caller turns in all per set, instant providers, "
        "GUIDANCE_INTERVAL_SECONDS=0.5 (guidance after every caller turn).",
        "Sets: off = GUIDANCE_ENABLED=false; embedded = the embedded engine on the worker's loop; "
        f"model = Azure OpenAI structured output via the loopback fake, {MODEL_DELAY_S * 1000:.0f} ms per answer.",
        "Δ = the set's percentile minus the same percentile without guidance (run-to-run noise is of the same "
        "order on a shared machine: compare with the spread between calls).",
    ]
    for label, data in sets.items():
        for run in data["calls"]:
            notes += [f"{label} call {run['call_connection_id']}: {p}" for p in run["problems"]]
    return {
        "name": NAME,
        "targets": targets,
        "table": {
            "columns": ["guidance", "part", "n", "p50", "p95", "Δp50", "Δp95", "guidance events"],
            "rows": rows,
        },
        "notes": notes,
        "samples": sets,
    }


async def run(out_dir: Path, *, quick: bool) -> dict[str, Any]:
    lines = QUICK_LINES if quick else caller_lines()
    calls = QUICK_CALLS if quick else FULL_CALLS
    sets: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="sb-bench-guidance-") as scratch:
        phrases = await make_caller_phrases(lines, Path(scratch))
        # The fakes' recogniser gives partials as the words are heard, as in the latency bench: the same
        # turns, so a guidance cost would show against that bench's numbers too.
        script = Path(scratch) / "stt-script.json"
        await asyncio.to_thread(script.write_text, json.dumps(stt_script(phrases)))
        common = {
            "GUIDANCE_INTERVAL_SECONDS": "0.5",
            "BENCH_STT_SCRIPT": str(script),
            "BENCH_PARTIAL_LAG_MS": str(PARTIAL_LAG_MS),
        }
        sets["off"] = await run_set("off", {**common, "GUIDANCE_ENABLED": "false"}, phrases, calls)
        sets["embedded"] = await run_set("embedded", {**common, "GUIDANCE_ENABLED": "true"}, phrases, calls)
        async with FakeOpenAIServer(api_key=OPENAI_KEY) as model:
            answers = len(phrases) * calls * 2 + 10
            model.script_completions(*[TextTurn(BANKING_ANSWER, first_delay_s=MODEL_DELAY_S)] * answers)
            env = {
                **common,
                "GUIDANCE_ENABLED": "true",
                "AZURE_OPENAI_ENDPOINT": model.azure_endpoint,
                "AZURE_OPENAI_API_KEY": OPENAI_KEY,
                "AZURE_OPENAI_DEPLOYMENT": "bench-guidance",
            }
            sets["model"] = await run_set("model", env, phrases, calls)
            sets["model"]["model_requests"] = len(model.requests)
    return build_result(sets, quick)
