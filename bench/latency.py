"""Benchmark 2a: response latency, turns cut mid-sentence, and our own overhead over scripted caller turns.

Every turn is a real simulated call turn: trimmed espeak speech (PlayWav) through the ACS simulator into the
backend worker, whose reply is heard back at the simulated caller's ear. Three provider sets:

- `instant`: fake STT/LLM/TTS that answer at once, so what is left of the response time is the end-of-turn
  wait plus our own overhead (targets: response p50 <= 350 ms, p95 <= 500 ms; overhead p95 <= 10 ms);
- `realistic`: the fixed-latency fakes (STT final 150 ms, LLM first token 300 ms, TTS first audio 100 ms;
  target: response p50 <= 800 ms);
- `embedded`: the product's own offline chain (Silero VAD, pocketsphinx, local brain, espeak-ng).

The caller set mixes one-breath questions with lines that pause mid-sentence ("My account ends in ... four
eight two one."): a turn is *cut* when agent audio or a StopAudio reaches the caller inside one of its
utterances, or the backend heard more caller turns than the caller spoke (target: <= 2% of turns). The
fakes' recogniser knows the script and gives partials as words are heard, `PARTIAL_LAG_MS` late
(`bench.turn_fakes`), as a streaming STT would; the model and the rest of the turn-taking are the product's.
The backend runs its defaults (TURN_END_MODE=semantic); `TURN_END_MODE=fixed` in the environment measures
the fixed-silence mode for comparison.

Per turn we keep the client-side response latency (the simulator's `caller_speech_end` -> next
`agent_audio_start`, which is what a caller experiences) and the server-side parts from the transcript.
Overhead = response_ms - (end_of_turn + stt_final + llm_first_token + tools + tts_first_audio), missing
parts counted as 0, unless the backend reports `overhead_ms` itself.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from apps.acs_simulator import timeline as tl
from apps.acs_simulator.caller_audio import CallerStep, PlayWav, WaitForAgent
from bench.phrases import Phrase, make_phrase, slug
from bench.stats import summarize, summary_row, target
from bench.worker import Worker, running_worker

NAME = "latency"
BANKING = "+18005550100"
PROVIDER_SETS = ("instant", "realistic", "embedded")
PARTS = ("end_of_turn_ms", "stt_final_ms", "llm_first_token_ms", "tools_ms", "tts_first_audio_ms")
OVERHEAD_TARGET_MS = 10.0
FULL_CALLS = 4  # x 16 caller lines = 64 turns per provider set
QUICK_CALLS = 1
RESPONSE_P50_TARGET_MS = {"instant": 350.0, "realistic": 800.0}
RESPONSE_P95_TARGET_MS = {"instant": 500.0}
CUT_TARGET = 0.02
PARTIAL_LAG_MS = 100.0

# Ten turns the banking scenario understands (identity first, then balances and transactions), so the
# embedded run exercises real recognition, routing and tools. The instant fakes ignore the words, but the
# same audio keeps the VAD's job identical across both runs.
CALLER_TURNS = [
    "My name is Jordan Rivera and the last four of my account are four eight two one.",
    "What's my checking balance?",
    "Can you tell me my savings balance?",
    "What are my recent transactions?",
    "How much is in my savings account right now?",
    "What's the balance on my checking account?",
    "Do I have enough money in checking?",
    "Can you go over my last three savings transactions?",
    "How much money do I have in checking?",
    "What's my balance?",
]

# Lines with a mid-sentence pause ("..."), and how long the caller stops there: after words that cannot end
# a sentence, as people do while recalling a number or a name.
PAUSED_TURNS = [
    ("My account ends in ... four eight two one.", 450),
    ("I would like to ... check my savings balance.", 350),
    ("The last four of my account are ... four eight two one.", 500),
    ("Can you tell me my ... checking balance?", 300),
    ("My name is Jordan Rivera and ... the last four are four eight two one.", 400),
    ("What is the balance of my ... savings account?", 450),
]
QUICK_LINES: list[str | tuple[str, int]] = [
    CALLER_TURNS[1],
    PAUSED_TURNS[0],
    CALLER_TURNS[2],
    PAUSED_TURNS[3],
]


def caller_lines() -> list[str | tuple[str, int]]:
    """The full caller set: every paused line after every second plain one."""
    lines: list[str | tuple[str, int]] = []
    paused = iter(PAUSED_TURNS)
    for index, text in enumerate(CALLER_TURNS):
        lines.append(text)
        if index % 2 == 1:
            lines.extend(list(itertools.islice(paused, 1)))
    lines.extend(paused)
    return lines


log = logging.getLogger(__name__)


@dataclass
class ClientTurn:
    """One caller utterance as the simulated caller lived it (ms on the call's timeline)."""

    speech_start_ms: float
    speech_end_ms: float
    agent_start_ms: float | None  # first agent audio after the utterance (before the caller spoke again)
    stop_audio: bool  # a StopAudio arrived in that window: the agent was cut off (a false barge-in here)
    cut: bool = False  # agent audio or a StopAudio reached the caller while they were still speaking

    @property
    def response_ms(self) -> float | None:
        return None if self.agent_start_ms is None else self.agent_start_ms - self.speech_end_ms


def client_turns(events: list[tl.TimelineEvent]) -> list[ClientTurn]:
    """Pair every caller utterance with the agent audio that answered it, from a finished call's timeline."""
    turns: list[ClientTurn] = []
    starts = [e for e in events if e.kind == tl.CALLER_SPEECH_START]
    ends = [e for e in events if e.kind == tl.CALLER_SPEECH_END]
    for index, (start, end) in enumerate(zip(starts, ends, strict=False)):
        window_end = starts[index + 1].t_ms if index + 1 < len(starts) else float("inf")
        agent = next(
            (e.t_ms for e in events if e.kind == tl.AGENT_AUDIO_START and end.t_ms <= e.t_ms < window_end),
            None,
        )
        stopped = any(e.kind == tl.STOP_AUDIO_RECEIVED and start.t_ms <= e.t_ms < window_end for e in events)
        cut = any(
            e.kind in (tl.AGENT_AUDIO_START, tl.STOP_AUDIO_RECEIVED) and start.t_ms < e.t_ms < end.t_ms
            for e in events
        )
        turns.append(ClientTurn(start.t_ms, end.t_ms, agent, stopped, cut))
    return turns


def formula_overhead_ms(latency: dict[str, Any]) -> float | None:
    """The issue's definition: response - (end of turn + STT + LLM first token + tools + TTS), missing as 0."""
    response = latency.get("response_ms")
    if response is None:
        return None
    return float(response) - sum(float(latency.get(part) or 0.0) for part in PARTS)


def overhead_ms(latency: dict[str, Any]) -> float | None:
    """Our own share of a reply's response time: what the measured parts do not explain.

    The backend's own `overhead_ms` wins when it reports one (it also subtracts `llm_ms`, the brain's time up
    to the first clause, which the first-token figure leaves out); otherwise the issue's formula.
    """
    if latency.get("overhead_ms") is not None:
        return float(latency["overhead_ms"])
    return formula_overhead_ms(latency)


def server_turns(transcript: dict[str, Any]) -> list[dict[str, Any]]:
    """Agent turns that answered a caller turn (they carry a response time), in call order."""
    picked = []
    for turn in transcript.get("turns", []):
        latency = turn.get("latency") or {}
        if turn.get("speaker") != "agent" or latency.get("response_ms") is None:
            continue
        picked.append(
            {
                "seq": turn.get("seq"),
                "kind": turn.get("kind"),
                "agent": turn.get("agent"),
                "text": (turn.get("text") or "")[:80],
                "interrupted": bool(turn.get("interrupted")),
                **{part: latency.get(part) for part in (*PARTS, "llm_ms", "response_ms", "early_start_ms")},
                "overhead_ms": overhead_ms(latency),
                "overhead_source": "backend" if latency.get("overhead_ms") is not None else "formula",
                "formula_overhead_ms": formula_overhead_ms(latency),
            }
        )
    return picked


def caller_texts(transcript: dict[str, Any]) -> list[str]:
    return [t.get("text") or "" for t in transcript.get("turns", []) if t.get("speaker") == "caller"]


def spoken_turns(transcript: dict[str, Any]) -> int:
    return sum(
        1 for t in transcript.get("turns", []) if t.get("speaker") == "caller" and t.get("kind") == "speech"
    )


def cut_turns(client: list[ClientTurn], heard: int | None) -> int:
    """Caller utterances cut mid-sentence: agent audio or StopAudio inside them, or (when the transcript is
    known) more caller turns heard than spoken; the larger count, so one split is not counted twice."""
    inside = sum(1 for turn in client if turn.cut)
    split = max(0, heard - len(client)) if heard is not None else 0
    return max(inside, split)


def server_speech_ends(transcript: dict[str, Any]) -> list[float]:
    """When the backend thinks each caller utterance ended (its VAD's last voiced audio), in epoch seconds."""
    return [
        datetime.fromisoformat(t["ended_at"]).timestamp()
        for t in transcript.get("turns", [])
        if t.get("speaker") == "caller" and t.get("kind") == "speech" and t.get("ended_at")
    ]


def speech_end_lags_ms(
    client: list[ClientTurn], server_ends: list[float], t0_epoch: float
) -> list[float | None]:
    """Server's speech end - the caller's real last voiced frame, per turn (both on this machine's clock).

    This splits "caller's ear - server" into what the VAD's view of the turn end adds and what delivery adds.
    None for every turn when the counts differ (a turn split or lost: no safe pairing).
    """
    if len(client) != len(server_ends):
        return [None] * len(client)
    return [
        (end - (t0_epoch + turn.speech_end_ms / 1000)) * 1000
        for turn, end in zip(client, server_ends, strict=True)
    ]


async def fetch_transcript(
    worker: Worker, call_connection_id: str, timeout_s: float = 30.0
) -> dict[str, Any]:
    """The finished call's transcript JSON, once its outcome is written (it lands just after the hang-up)."""
    deadline = time.monotonic() + timeout_s
    async with worker.admin() as admin:
        while True:
            response = await admin.get(f"/api/v1/calls/{call_connection_id}/transcript")
            if response.status_code == 200 and response.json().get("outcome") is not None:
                return dict(response.json())
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"no finished transcript for {call_connection_id} after {timeout_s}s "
                    f"(last status {response.status_code})"
                )
            await asyncio.sleep(0.2)


def call_script(phrases: list[Phrase]) -> list[CallerStep]:
    """Greeting, then each phrase answered in full before the next: no turn ever overlaps the agent."""
    script: list[CallerStep] = [WaitForAgent()]
    for phrase in phrases:
        script += [PlayWav(phrase.path), WaitForAgent(start_timeout_s=10.0)]
    return script


async def run_call(worker: Worker, phrases: list[Phrase], call_index: int) -> dict[str, Any]:
    """One call: its per-turn samples (client and server side) and anything that went wrong."""
    result = await worker.simulator.place_call(
        worker.url, call_script(phrases), to_number=BANKING, max_duration_s=60 + 30 * len(phrases)
    )
    t0_epoch = result.timeline.t0 + (time.time() - time.monotonic())
    problems: list[str] = []
    try:
        transcript = await fetch_transcript(worker, result.call_connection_id)
    except (RuntimeError, httpx.HTTPError) as exc:  # keep the caller-side samples of this call
        problems.append(f"transcript unavailable: {exc}")
        transcript = {}
    client = client_turns(result.timeline.events)
    server = server_turns(transcript)
    lags = speech_end_lags_ms(client, server_speech_ends(transcript), t0_epoch)
    if result.script_error:
        problems.append(f"script error: {result.script_error}")
    if result.hung_up_by != "caller":
        problems.append(f"hung up by {result.hung_up_by}: {result.end_reason}")
    heard = spoken_turns(transcript) if transcript else None
    cut = cut_turns(client, heard)
    if cut:
        problems.append(f"{cut} caller turns cut mid-sentence (heard {heard} turns of {len(client)} spoken)")
    unanswered = sum(1 for turn in client if turn.agent_start_ms is None)
    if unanswered:
        problems.append(f"{unanswered} of {len(client)} caller turns got no agent audio")
    stopped = sum(1 for turn in client if turn.stop_audio)
    if stopped:
        problems.append(f"{stopped} caller turns triggered a StopAudio (the agent was cut off)")
    paired = len(client) == len(server)
    if not paired:
        problems.append(f"{len(client)} caller turns but {len(server)} timed agent replies: not paired")
    turns = []
    for index, turn in enumerate(client):
        sample: dict[str, Any] = {
            "call": call_index,
            "turn": index,
            "phrase": phrases[index].text if index < len(phrases) else None,
            "paused": phrases[index].paused if index < len(phrases) else None,
            "client_response_ms": turn.response_ms,
            "stop_audio": turn.stop_audio,
            "cut": turn.cut,
            "speech_end_lag_ms": lags[index],
        }
        if paired:
            sample.update(server[index])
            if turn.response_ms is not None and server[index]["response_ms"] is not None:
                sample["client_minus_server_ms"] = turn.response_ms - server[index]["response_ms"]
        turns.append(sample)
    return {
        "call_connection_id": result.call_connection_id,
        "spoken": len(client),
        "cut": cut,
        "turns": turns,
        "server_turns": server,
        "heard": caller_texts(transcript),
        "problems": problems,
    }


def stt_script(phrases: list[Phrase]) -> list[list[tuple[str, int]]]:
    """What the fakes' recogniser hears, utterance by utterance (`bench.turn_fakes`)."""
    return [list(p.parts) for p in phrases]


async def run_provider_set(
    providers: str, phrases: list[Phrase], calls: int, scratch: Path
) -> dict[str, Any]:
    """Every call of one provider set against one backend worker, one call after another."""
    runs = []
    script = scratch / "stt-script.json"
    await asyncio.to_thread(script.write_text, json.dumps(stt_script(phrases)))
    env = {"BENCH_STT_SCRIPT": str(script), "BENCH_PARTIAL_LAG_MS": str(PARTIAL_LAG_MS)}
    async with running_worker(providers, env=env) as worker:
        for call_index in range(calls):
            log.info("latency[%s]: call %d/%d", providers, call_index + 1, calls)
            runs.append(await run_call(worker, phrases, call_index))
    client = [t["client_response_ms"] for run in runs for t in run["turns"]]
    paused = [t["client_response_ms"] for run in runs for t in run["turns"] if t["paused"]]
    plain = [t["client_response_ms"] for run in runs for t in run["turns"] if not t["paused"]]
    server = [t for run in runs for t in run["server_turns"]]
    pairs = [
        t["client_minus_server_ms"] for run in runs for t in run["turns"] if "client_minus_server_ms" in t
    ]
    summaries = {
        "client_response_ms": summarize(client),
        "client_response_plain_ms": summarize(plain),
        "client_response_paused_ms": summarize(paused),
        **{
            key: summarize(t[key] for t in server)
            for key in (*PARTS, "llm_ms", "response_ms", "overhead_ms", "formula_overhead_ms")
        },
        "client_minus_server_ms": summarize(pairs),
        "speech_end_lag_ms": summarize(t["speech_end_lag_ms"] for run in runs for t in run["turns"]),
    }
    return providers_result(providers, runs, summaries)


def providers_result(providers: str, runs: list[dict[str, Any]], summaries: dict[str, Any]) -> dict[str, Any]:
    """One provider set's JSON: its calls, summaries and how many spoken turns were cut mid-sentence."""
    spoken = sum(run["spoken"] for run in runs)
    cut = sum(run["cut"] for run in runs)
    return {
        "providers": providers,
        "calls": runs,
        "summaries": summaries,
        "cut": {"turns": spoken, "cut": cut, "rate": cut / spoken if spoken else None},
    }


ROW_LABELS = {
    "client_response_ms": "response (caller's ear)",
    "client_response_plain_ms": "  one-breath lines",
    "client_response_paused_ms": "  lines with a mid-sentence pause",
    "response_ms": "response (server)",
    "end_of_turn_ms": "end of turn",
    "stt_final_ms": "STT final",
    "llm_first_token_ms": "LLM first token",
    "llm_ms": "LLM until first clause",
    "tools_ms": "tools",
    "tts_first_audio_ms": "TTS first audio",
    "overhead_ms": "our overhead",
    "formula_overhead_ms": "overhead, issue formula",
    "client_minus_server_ms": "caller's ear - server",
    "speech_end_lag_ms": "server's turn end - real end",
}


def overhead_sources(sets: dict[str, dict[str, Any]]) -> str:
    """Where the overhead figures came from, said in the notes so the target's meaning is clear."""
    sources = {
        t["overhead_source"]
        for data in sets.values()
        for t in (x for c in data["calls"] for x in c["server_turns"])
    }
    if sources == {"backend"}:
        return "the backend's own TurnLatency.overhead_ms (response minus every part it measured)"
    if sources == {"formula"}:
        return "the issue formula (the backend reports no overhead_ms)"
    return "the backend's overhead_ms where reported, else the issue formula"


def build_result(sets: dict[str, dict[str, Any]], phrases: list[Phrase], quick: bool) -> dict[str, Any]:
    """The benchmark's result in the shared contract: targets, one table, notes, raw samples."""
    rows = [
        summary_row([providers, ROW_LABELS[key]], data["summaries"][key])
        for providers, data in sets.items()
        for key in ROW_LABELS
    ]
    instant = sets.get("instant")
    overhead_p95 = instant["summaries"]["overhead_ms"]["p95"] if instant else None
    targets = [target("our overhead, instant providers", overhead_p95, OVERHEAD_TARGET_MS, "ms", stat="p95")]
    for providers, limit in RESPONSE_P50_TARGET_MS.items():
        if providers in sets:
            p50 = sets[providers]["summaries"]["client_response_ms"]["p50"]
            targets.append(target(f"response at the caller's ear, {providers}", p50, limit, "ms", stat="p50"))
    for providers, limit in RESPONSE_P95_TARGET_MS.items():
        if providers in sets:
            p95 = sets[providers]["summaries"]["client_response_ms"]["p95"]
            targets.append(target(f"response at the caller's ear, {providers}", p95, limit, "ms", stat="p95"))
    spoken = sum(data["cut"]["turns"] for data in sets.values())
    cut = sum(data["cut"]["cut"] for data in sets.values())
    targets.append(
        target(
            "turns cut mid-sentence, all provider sets",
            100 * cut / spoken if spoken else None,
            100 * CUT_TARGET,
            "%",
        )
    )
    turns = {providers: sum(len(c["turns"]) for c in data["calls"]) for providers, data in sets.items()}
    notes = [
        f"{', '.join(f'{n} turns with {p} providers' for p, n in turns.items())}"
        f" ({'quick run' if quick else 'full run'}), calls one after another.",
        "Response (caller's ear) = the simulator's caller_speech_end -> next agent_audio_start; the server parts "
        "come from the transcript latency of each reply.",
        f"Our overhead: {overhead_sources(sets)}. 'Overhead, issue formula' = server response - (end of turn + "
        "STT + LLM first token + tools + TTS first audio), missing parts as 0: it also counts the brain's "
        "streaming from its first token up to the first complete clause, which 'LLM until first clause' "
        "(llm_ms) measures when the backend reports it.",
        "Caller's ear - server: how much later the caller hears the reply than the server's response_ms says. "
        "Server's turn end - real end: the caller turn's ended_at in the transcript (the VAD's last voiced "
        "audio) minus the simulator's caller_speech_end, on this machine's clock; response_ms starts its clock "
        "there, so this much of the wait is invisible to it. The rest is delivery (the 20 ms frame ticks).",
        "Turns cut mid-sentence: "
        + "; ".join(f"{p} {d['cut']['cut']}/{d['cut']['turns']}" for p, d in sets.items())
        + f". Caller set: {sum(1 for p in phrases if p.paused)} of {len(phrases)} lines pause mid-sentence "
        "(" + ", ".join(f"{p.text!r} {p.pauses_ms[0]} ms" for p in phrases if p.paused) + "). The fakes' "
        f"recogniser gives partials {PARTIAL_LAG_MS:g} ms after the words are heard.",
        "Caller phrases: espeak, trimmed to their voiced span: "
        + "; ".join(f"{p.text!r} {p.duration_ms:.0f} ms" for p in phrases[:3])
        + (" ..." if len(phrases) > 3 else ""),
    ]
    for providers, data in sets.items():
        for run in data["calls"]:
            notes += [f"{providers} call {run['call_connection_id']}: {p}" for p in run["problems"]]
    histograms = {
        f"response latency, {providers} (caller's ear)": [
            t["client_response_ms"]
            for c in data["calls"]
            for t in c["turns"]
            if t["client_response_ms"] is not None
        ]
        for providers, data in sets.items()
    }
    return {
        "name": NAME,
        "targets": targets,
        "table": {"columns": ["providers", "part", "n", "p50", "p95", "p99", "max", "mean"], "rows": rows},
        "notes": notes,
        "histograms": {label: values for label, values in histograms.items() if values},
        "samples": sets,
        "phrases": [{**asdict(p), "path": p.path.name} for p in phrases],
    }


async def make_caller_phrases(lines: list[str | tuple[str, int]], directory: Path) -> list[Phrase]:
    made: dict[str, Phrase] = {}
    phrases = []
    for line in lines:
        text, pause_ms = (line, 0) if isinstance(line, str) else line
        if text not in made:
            made[text] = await make_phrase(
                text, directory, name=f"{len(made):02d}-{slug(text)}", pause_ms=pause_ms
            )
        phrases.append(made[text])
    return phrases


async def run(out_dir: Path, *, quick: bool) -> dict[str, Any]:
    """Every provider set, instant first; `quick` = one short call each (a smoke test of the benchmark)."""
    lines = QUICK_LINES if quick else caller_lines()
    calls = QUICK_CALLS if quick else FULL_CALLS
    with tempfile.TemporaryDirectory(prefix="sb-bench-latency-") as scratch:
        phrases = await make_caller_phrases(lines, Path(scratch))
        sets = {
            providers: await run_provider_set(providers, phrases, calls, Path(scratch))
            for providers in PROVIDER_SETS
        }
    return build_result(sets, phrases, quick)
