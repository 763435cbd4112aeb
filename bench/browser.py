"""Benchmark: browser sessions beside the phone, with the same instant fake providers and the same phrases.

Three channels into one backend worker: the phone (the ACS simulator), a WebSocket voice session, and a WebRTC
session (a real aiortc peer on loopback, its microphone sending the phrase as Opus). Each conversation: the
greeting, a question, then cycles of an interruption cut into the agent's reply 300-1500 ms after it started.

Measured at the client, as a caller or a browser lives it:
- response: the last frame of the caller's phrase sent -> the first agent audio received;
- barge-in: the interrupting phrase's first frame sent -> the agent stops. On the phone that is StopAudio at
  the simulator; on the WebSocket the `clear` message; over WebRTC there is no message, so it is the first
  silent frame of agent audio heard (what the listener notices), jitter buffer included.

WebRTC's barge-in target is judged at the server: the worker's own `switchboard_barge_in_seconds` over the
WebRTC session (the caller's speech onset reaching the server -> the agent's audio stopped), the same span the
phone's StopAudio times on loopback. At the ear WebRTC adds both directions' Opus codecs, jitter buffers and
20 ms pacing (about 180 ms on loopback); that figure is reported beside it, not held to the phone's target.

The WebRTC client's receiver holds one 20 ms frame before decoding, about what a browser's adaptive jitter
buffer settles to on loopback (aiortc's own fixed 4 frames would add 60 ms that no browser adds here).
"""

from __future__ import annotations

import asyncio
import logging
import random
import tempfile
import time
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from aiortc import RTCSessionDescription

from bench.bargein import call_script, interruptions
from bench.latency import client_turns
from bench.loadgen import Histogram, histogram_delta, scrape
from bench.phrases import Phrase, make_phrase
from bench.stats import summarize, summary_row, target
from bench.worker import ADMIN_KEY, Worker, running_worker
from tests.e2e.voice_session_client import RATE, talking
from tests.unit.transports.webrtc_client import BrowserPeer, rms
from voice.transports.webrtc import shorten_jitter_buffer
from voice.transports.webrtc_ice import offer_loopback_candidates

NAME = "browser"
BANKING = "+18005550100"
BARGE_IN_TARGET_P95_MS = 150.0
BARGE_IN_METRIC = "switchboard_barge_in_seconds"
AFTER_MS_RANGE = (300.0, 1500.0)
SEED = 11
FULL_CYCLES, QUICK_CYCLES = 12, 3
LOUD = 500.0
QUIET_S = 0.8
QUESTION = "What's my checking balance?"
INTERRUPTION = "Wait, one thing."

log = logging.getLogger(__name__)


def read_pcm(phrase: Phrase) -> bytes:
    with wave.open(str(phrase.path), "rb") as wav:
        assert wav.getframerate() == RATE and wav.getnchannels() == 1
        return wav.readframes(wav.getnframes())


async def until(check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark client waited too long")
        await asyncio.sleep(0.005)
    return result


def first_after(
    times: list[float], since: float, keep: Callable[[int], bool] = lambda i: True
) -> float | None:
    return next((t for i, t in enumerate(times) if t >= since and keep(i)), None)


# --- the phone ----------------------------------------------------------------------------------------
async def phone(
    worker: Worker, question: Phrase, interruption: Phrase, delays: list[float]
) -> dict[str, Any]:
    result = await worker.simulator.place_call(
        worker.url,
        call_script(question, interruption, delays),
        to_number=BANKING,
        max_duration_s=60 + 15 * len(delays),
    )
    events = result.timeline.events
    responses = [t.response_ms for t in client_turns(events) if t.response_ms is not None]
    cuts = [i for i in interruptions(events, f"wav:{interruption.path.name}", 0) if i.agent_playing]
    return {
        "response_ms": responses,
        "barge_in_ms": [i.latency_ms for i in cuts if i.latency_ms is not None],
        "missed": sum(1 for i in cuts if i.missed),
    }


# --- browser sessions ---------------------------------------------------------------------------------
async def create_session(worker: Worker, channel: str) -> dict[str, Any]:
    async with worker.admin() as client:
        response = await client.post("/api/v1/sessions", json={"scenario": "banking", "channel": channel})
    response.raise_for_status()
    created: dict[str, Any] = response.json()
    return created


async def websocket(
    worker: Worker, question: bytes, interruption: bytes, delays: list[float]
) -> dict[str, Any]:
    session = await create_session(worker, "websocket")
    url = f"{session['urls']['websocket']}&token={session['token']}"
    responses: list[float] = []
    cuts: list[float] = []
    missed = 0
    async with talking(url) as voice:

        def quiet() -> bool:
            return voice.audio_frames > 0 and time.monotonic() - voice.last_audio > QUIET_S

        await until(quiet)
        for n, delay in enumerate([None, *delays]):
            if delay is not None:  # cut into the reply `delay` ms after its first audio
                await asyncio.sleep(delay / 1000)
            voice.say(question if n == 0 else interruption)
            await until(lambda: not voice.speaking)
            assert voice.speech_started_at is not None and voice.speech_ended_at is not None
            if delay is not None:
                clears = [
                    t for t, e in zip(voice.event_at, voice.events, strict=True) if e.get("type") == "clear"
                ]
                stop = first_after(clears, voice.speech_started_at)
                if stop is None:
                    missed += 1
                else:
                    cuts.append((stop - voice.speech_started_at) * 1000)
            ended = voice.speech_ended_at
            first = await until(lambda: first_after(voice.audio_at, ended))  # noqa: B023
            responses.append((first - ended) * 1000)
        await voice.ws.close()
    return {"response_ms": responses, "barge_in_ms": cuts, "missed": missed}


async def webrtc(worker: Worker, question: bytes, interruption: bytes, delays: list[float]) -> dict[str, Any]:
    session = await create_session(worker, "webrtc")
    peer = BrowserPeer()
    responses: list[float] = []
    cuts: list[float] = []
    missed = 0
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            answer = await http.post(
                session["urls"]["offer"],
                json={"type": "offer", "sdp": await peer.offer()},
                headers={"Authorization": f"Bearer {session['token']}"},
            )
        answer.raise_for_status()
        await peer.pc.setRemoteDescription(RTCSessionDescription(**answer.json()))
        for transceiver in peer.pc.getTransceivers():
            shorten_jitter_buffer(transceiver.receiver, 1)

        def loud(i: int) -> bool:
            return rms(peer.heard[i]) > LOUD

        def quiet() -> bool:
            tail = peer.heard[-int(QUIET_S / 0.02) :]
            return peer.loud_frames() > 0 and len(tail) >= 40 and all(rms(f) <= LOUD for f in tail)

        await until(quiet)
        for n, delay in enumerate([None, *delays]):
            if delay is not None:
                await asyncio.sleep(delay / 1000)
            peer.mic.play(question if n == 0 else interruption)
            await until(lambda: not peer.mic.playing)
            started, ended = peer.mic.speech_started_at, peer.mic.speech_ended_at
            assert started is not None and ended is not None
            if delay is not None:
                stop = first_after(peer.heard_at, started, lambda i: not loud(i))
                if stop is None or stop - started > 2.0:
                    missed += 1
                else:
                    cuts.append((stop - started) * 1000)
            first = await until(lambda: first_after(peer.heard_at, ended, loud))  # noqa: B023
            responses.append((first - ended) * 1000)
    finally:
        await peer.close()
    return {"response_ms": responses, "barge_in_ms": cuts, "missed": missed}


def build_result(
    runs: dict[str, dict[str, Any]], quick: bool, webrtc_at_server: Histogram | None = None
) -> dict[str, Any]:
    rows = []
    targets = []
    for channel, run in runs.items():
        response, barge_in = summarize(run["response_ms"]), summarize(run["barge_in_ms"])
        rows.append(summary_row([channel, "response, ms"], response))
        rows.append(
            summary_row(
                [channel, "barge-in, ms" if channel != "webrtc" else "barge-in at the ear, ms"], barge_in
            )
        )
        if channel != "webrtc":
            targets.append(
                target(
                    f"{channel} barge-in latency", barge_in["p95"], BARGE_IN_TARGET_P95_MS, "ms", stat="p95"
                )
            )
        else:
            targets.append(webrtc_server_target(webrtc_at_server, expected=len(run["barge_in_ms"])))
        targets.append(target(f"{channel} interruptions not stopped", run["missed"], 0, "", stat="misses"))
    at_server = webrtc_at_server.quantile(0.5) if webrtc_at_server is not None else None
    return {
        "name": NAME,
        "targets": targets,
        "table": {"columns": ["channel", "measure", "n", "p50", "p95", "p99", "max", "mean"], "rows": rows},
        "notes": [
            f"Instant fake providers; {'quick run' if quick else 'full run'}; client-side clocks (see module doc).",
            "Response includes the end-of-turn silence the cascade waits for; compare channels, not absolutes.",
            "WebRTC barge-in at the ear ends at the first silent frame heard, after both directions' Opus and "
            "jitter buffers; its target is judged at the server (worker's barge-in histogram over the WebRTC "
            f"session: p50 {'-' if at_server is None else f'{at_server * 1000:.0f}'} ms, from 25 ms buckets).",
        ],
        "histograms": {f"{c} response": r["response_ms"] for c, r in runs.items() if r["response_ms"]},
        "samples": runs,
        "webrtc_barge_in_at_server": None if webrtc_at_server is None else webrtc_at_server.buckets,
    }


def webrtc_server_target(hist: Histogram | None, *, expected: int) -> dict[str, Any]:
    """p95 of the worker's barge-in histogram over the WebRTC session. Exact against 150 ms (a bucket edge);
    missing, or fewer barge-ins than the client timed (some not counted by the server), is never met."""
    name = "webrtc barge-in latency at the server (onset reaching it -> agent audio stopped)"
    p95 = hist.quantile(0.95) if hist is not None and hist.count >= max(1, expected) else None
    return target(name, None if p95 is None else p95 * 1000, BARGE_IN_TARGET_P95_MS, "ms", stat="p95")


async def run(out_dir: Path, *, quick: bool) -> dict[str, Any]:
    rng = random.Random(SEED)
    cycles = QUICK_CYCLES if quick else FULL_CYCLES
    delays = [rng.uniform(*AFTER_MS_RANGE) for _ in range(cycles)]
    offer_loopback_candidates()  # this process's peer, like the worker's (WEBRTC_LOOPBACK_CANDIDATES)
    with tempfile.TemporaryDirectory(prefix="sb-bench-browser-") as scratch:
        question = await make_phrase(QUESTION, Path(scratch), name="question")
        interruption = await make_phrase(INTERRUPTION, Path(scratch), name="interruption")
        env = {"WEBRTC_LOOPBACK_CANDIDATES": "true", "ADMIN_API_KEY": ADMIN_KEY}
        async with running_worker("instant", env=env) as worker:
            runs = {"phone": await phone(worker, question, interruption, delays)}
            log.info("browser: websocket session")
            runs["websocket"] = await websocket(worker, read_pcm(question), read_pcm(interruption), delays)
            log.info("browser: webrtc session")
            async with worker.admin() as client:
                before = await scrape(client)
                runs["webrtc"] = await webrtc(worker, read_pcm(question), read_pcm(interruption), delays)
                at_server = histogram_delta(await scrape(client), before, BARGE_IN_METRIC)
    return build_result(runs, quick, at_server)
