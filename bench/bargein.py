"""Benchmark 2b: barge-in latency, caller speech onset during agent playback -> StopAudio at the caller.

Instant fake providers, so every reply is the same ~7 s of tone and nothing but the barge-in path is timed.
Each call: hear the greeting, ask a question, then repeatedly cut into the agent's reply a pseudo-random
300-1500 ms after it started (WaitForAgentStart) with a ~1.2 s phrase; the agent answers that phrase with a
new reply, which the next interruption cuts into, and so on.

From the simulator's timeline: latency = the interrupting phrase's `caller_speech_start` -> the first
`stop_audio_received` after it. No StopAudio within MISS_AFTER_MS is a miss, reported as a failure of its own
(never dropped). An interruption whose onset found the agent silent did not test barge-in; it is counted
and listed, not timed.
"""

from __future__ import annotations

import logging
import random
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from apps.acs_simulator import timeline as tl
from apps.acs_simulator.caller_audio import CallerStep, PlayWav, WaitForAgent, WaitForAgentStart
from bench.phrases import Phrase, make_phrase
from bench.stats import summarize, summary_row, target
from bench.worker import Worker, running_worker

NAME = "bargein"
BANKING = "+18005550100"
TARGET_P95_MS = 150.0
MISS_AFTER_MS = 2000.0
AFTER_MS_RANGE = (300.0, 1500.0)
SEED = 6  # fixed, so reruns cut in at the same points and numbers compare
FULL_CALLS, FULL_INTERRUPTIONS = 3, 11  # 33 interruptions: >= 30 even if a few find the agent silent
QUICK_CALLS, QUICK_INTERRUPTIONS = 1, 3

QUESTION = "What's my checking balance?"
INTERRUPTION = "Wait, one thing."  # 1.18 s of trimmed espeak: clearly speech, not a backchannel

log = logging.getLogger(__name__)


@dataclass
class Interruption:
    call: int
    index: int
    onset_ms: float  # caller_speech_start of the interrupting phrase (call timeline)
    agent_playing: bool  # was agent audio playing at the onset? (otherwise no barge-in to measure)
    stop_audio_ms: float | None  # first StopAudio at or after the onset, within MISS_AFTER_MS
    dropped_ms: float | None  # agent audio StopAudio discarded at the caller (from the simulator)

    @property
    def latency_ms(self) -> float | None:
        return None if self.stop_audio_ms is None else self.stop_audio_ms - self.onset_ms

    @property
    def missed(self) -> bool:
        return self.agent_playing and self.stop_audio_ms is None


def agent_playing_at(events: list[tl.TimelineEvent], t_ms: float) -> bool:
    """True when agent audio started at or before `t_ms` and had not stopped by then."""
    playing = False
    for event in events:
        if event.t_ms > t_ms:
            break
        if event.kind == tl.AGENT_AUDIO_START:
            playing = True
        elif event.kind == tl.AGENT_AUDIO_STOP:
            playing = False
    return playing


def interruptions(events: list[tl.TimelineEvent], label: str, call: int) -> list[Interruption]:
    """Every onset of the phrase labelled `label` (the simulator's `what` detail), with its StopAudio."""
    found = []
    onsets = [e for e in events if e.kind == tl.CALLER_SPEECH_START and e.detail.get("what") == label]
    for index, onset in enumerate(onsets):
        # A StopAudio answers this onset only if it came before the next one (never borrow the next's).
        window_end = onset.t_ms + MISS_AFTER_MS
        if index + 1 < len(onsets):
            window_end = min(window_end, onsets[index + 1].t_ms)
        stop = next(
            (e for e in events if e.kind == tl.STOP_AUDIO_RECEIVED and onset.t_ms <= e.t_ms <= window_end),
            None,
        )
        found.append(
            Interruption(
                call=call,
                index=index,
                onset_ms=onset.t_ms,
                agent_playing=agent_playing_at(events, onset.t_ms),
                stop_audio_ms=None if stop is None else stop.t_ms,
                dropped_ms=None if stop is None else stop.detail.get("dropped_ms"),
            )
        )
    return found


def call_script(question: Phrase, interruption: Phrase, delays_ms: list[float]) -> list[CallerStep]:
    """Greeting, a question, then one interruption per delay, each `delay` into the agent's latest reply."""
    script: list[CallerStep] = [WaitForAgent(), PlayWav(question.path)]
    for delay in delays_ms:
        script += [WaitForAgentStart(after_ms=delay, start_timeout_s=10.0), PlayWav(interruption.path)]
    return [*script, WaitForAgent(start_timeout_s=10.0)]


async def run_call(
    worker: Worker, question: Phrase, interruption: Phrase, delays_ms: list[float], call: int
) -> dict[str, Any]:
    """One call of interruptions: each one's onset and StopAudio, and anything that went wrong."""
    result = await worker.simulator.place_call(
        worker.url,
        call_script(question, interruption, delays_ms),
        to_number=BANKING,
        max_duration_s=60 + 15 * len(delays_ms),
    )
    found = interruptions(result.timeline.events, f"wav:{interruption.path.name}", call)
    problems = []
    if result.script_error:
        problems.append(f"script error: {result.script_error}")
    if result.hung_up_by != "caller":
        problems.append(f"hung up by {result.hung_up_by}: {result.end_reason}")
    if len(found) != len(delays_ms):
        problems.append(f"{len(found)} of {len(delays_ms)} scripted interruptions were played")
    timeouts = [e.detail for e in result.timeline.of(tl.WAIT_TIMEOUT)]
    if timeouts:
        problems.append(f"{len(timeouts)} waits timed out: {timeouts[:3]}")
    return {
        "call_connection_id": result.call_connection_id,
        "delays_ms": [round(d) for d in delays_ms],
        "interruptions": [{**asdict(i), "latency_ms": i.latency_ms, "missed": i.missed} for i in found],
        "stop_audio_count": result.stop_audio_count,
        "problems": problems,
    }


def build_result(runs: list[dict[str, Any]], phrases: dict[str, Phrase], quick: bool) -> dict[str, Any]:
    """The benchmark's result in the shared contract: two targets (latency p95, misses), table, notes."""
    every = [i for run in runs for i in run["interruptions"]]
    during = [i for i in every if i["agent_playing"]]
    timed = [i["latency_ms"] for i in during if i["latency_ms"] is not None]
    missed = [i for i in during if i["missed"]]
    silent = [i for i in every if not i["agent_playing"]]
    summary = summarize(timed)
    targets = [
        target("barge-in latency (onset -> StopAudio)", summary["p95"], TARGET_P95_MS, "ms", stat="p95"),
        target(
            f"interruptions without StopAudio within {MISS_AFTER_MS:g} ms", len(missed), 0, "", stat="misses"
        ),
    ]
    notes = [
        f"{len(during)} interruptions during agent playback ({'quick run' if quick else 'full run'}), "
        f"{len(timed)} timed, {len(missed)} missed (no StopAudio within {MISS_AFTER_MS:g} ms).",
        f"Caller phrase {phrases['interruption'].text!r} ({phrases['interruption'].duration_ms:.0f} ms, trimmed "
        f"espeak) started {AFTER_MS_RANGE[0]:g}-{AFTER_MS_RANGE[1]:g} ms into the agent's reply (seed {SEED}).",
        "Latency is on the simulator's clock: the interrupting phrase's first frame sent -> StopAudio received.",
    ]
    if silent:
        notes.append(
            f"{len(silent)} interruptions found the agent silent at their onset and were not timed: "
            + ", ".join(f"call {i['call']} #{i['index']} at {i['onset_ms']:.0f} ms" for i in silent[:10])
        )
    notes += [f"missed: call {i['call']} #{i['index']} onset {i['onset_ms']:.0f} ms" for i in missed]
    notes += [f"call {run['call_connection_id']}: {p}" for run in runs for p in run["problems"]]
    return {
        "name": NAME,
        "targets": targets,
        "table": {
            "columns": ["measure", "n", "p50", "p95", "p99", "max", "mean"],
            "rows": [summary_row(["barge-in latency, ms"], summary)],
        },
        "notes": notes,
        "histograms": {"barge-in latency (onset -> StopAudio)": timed} if timed else {},
        "samples": {"calls": runs},
        "summary": summary,
        "counts": {
            "interruptions": len(every),
            "during_playback": len(during),
            "timed": len(timed),
            "missed": len(missed),
            "agent_silent": len(silent),
        },
        "phrases": {k: {**asdict(p), "path": p.path.name} for k, p in phrases.items()},
    }


async def run(out_dir: Path, *, quick: bool) -> dict[str, Any]:
    """All calls against one instant-provider worker, one after another; `quick` = one call of three."""
    calls, per_call = (QUICK_CALLS, QUICK_INTERRUPTIONS) if quick else (FULL_CALLS, FULL_INTERRUPTIONS)
    rng = random.Random(SEED)
    with tempfile.TemporaryDirectory(prefix="sb-bench-bargein-") as scratch:
        phrases = {
            "question": await make_phrase(QUESTION, Path(scratch), name="question"),
            "interruption": await make_phrase(INTERRUPTION, Path(scratch), name="interruption"),
        }
        runs = []
        async with running_worker("instant") as worker:
            for call in range(calls):
                delays = [rng.uniform(*AFTER_MS_RANGE) for _ in range(per_call)]
                log.info("bargein: call %d/%d", call + 1, calls)
                runs.append(
                    await run_call(worker, phrases["question"], phrases["interruption"], delays, call)
                )
    return build_result(runs, phrases, quick)
