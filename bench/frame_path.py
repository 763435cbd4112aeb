"""CPU per inbound frame of the media path, in one process, without the network or a real-time clock.

`python -m bench.frame_path --calls 20 --seconds 20 [--socket]` plays `--calls` callers (the capacity bench's
phrase, then 4-6 s of digital silence, repeating) as ACS AudioData messages through `AcsMediaTransport` ->
`MediaSession` (the shared `VadBatcher` on the real Silero model) -> the cascade's `TurnTaking` (semantic
turn ends, the real `CallerListener` and `TurnJudge`, a host that never replies), as fast as the loop goes.
With `--socket` every message goes in as a masked WebSocket frame through `MediaWebSocket.data_received`
(frame parsing, the inbox and one task wake-up per message, as on the wire).

It reports the event loop thread's CPU time per frame (`time.thread_time`), which a busy machine does not
inflate the way it stretches wall time, and a digest of every turn event (type and audio time) the calls
produced: two trees given the same arguments must print the same digest, or their turn-taking differs.
Run it from each tree's root, alternately, for an A/B of the frame path's CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import random
import time
from collections.abc import Sequence
from typing import Any

from apps.acs_simulator.caller_audio import synthesize
from apps.backend.media_ws.connection import MediaWebSocket
from apps.backend.media_ws.frames import UpgradeRequest
from bench.fakes import FakeSpeechToText
from bench.loadgen import CallerAudio, stamp_bytes, trim_silence, ws_client_header
from voice.audio.turns import TurnEvent, TurnPolicy
from voice.audio.vad import get_shared_model
from voice.audio.vad_batcher import VadBatcher
from voice.session.media_session import MediaSession
from voice.speech_cascade.listening import CallerListener
from voice.speech_cascade.records import CallerTurn
from voice.speech_cascade.turn_taking import TurnTaking
from voice.telemetry import NO_TELEMETRY
from voice.transports.acs import AcsMediaTransport
from voice.transports.base import TransportStats
from voice.transports.playout import PacedPlayout

UPGRADE = (
    b"GET /api/v1/media/stream HTTP/1.1\r\nHost: bench\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


class SilentHost:
    """A cascade that never speaks: turn-taking runs its caller-side rules only."""

    speaker = None

    def replying(self) -> bool:
        return False

    def caller_acted(self) -> None:
        return None

    async def interrupt(self, why: str) -> bool:
        return False

    def reply_to(self, turn: CallerTurn, gate: asyncio.Future[None] | None) -> bool:
        return False

    def reply_heard(self) -> bool:
        return False

    async def drop_reply(self) -> None:
        return None


class ListeningCall:
    """The orchestrator side: the cascade's turn-taking over the shared VAD, recording its events."""

    uses_vad = True

    def __init__(self, events: list[TurnEvent]) -> None:
        self.listener = CallerListener(FakeSpeechToText(0), call_id="bench")
        policy = TurnPolicy(
            mode="semantic", min_silence_ms=400, end_of_turn_silence_ms=600, unfinished_hold_ms=700
        )
        self.taking = TurnTaking(policy, self.listener, None, SilentHost(), NO_TELEMETRY)
        self._events = events
        handle = self.taking._on_event

        async def recorded(event: TurnEvent) -> None:
            events.append(event)
            await handle(event)

        self.taking._on_event = recorded  # type: ignore[method-assign]

    async def start(self, *, sample_rate: int, playout: PacedPlayout) -> None:
        self.taking.open(sample_rate)
        await self.listener.open(sample_rate=sample_rate, languages=("en-US",))

    async def on_audio(self, pcm: bytes, probabilities: Sequence[float]) -> None:
        await self.taking.on_audio(pcm, probabilities)

    async def on_dtmf(self, digit: str) -> None:
        return None

    async def aclose(self, reason: str | None = None) -> None:
        return None


class NoListener:
    async def on_media_started(self, sample_rate: int) -> None:
        return None

    async def on_dtmf(self, digit: str) -> None:
        return None

    async def on_media_ended(self, stats: TransportStats) -> None:
        return None


class ScriptedSocket:
    """The call's messages, handed over at once; the loop is yielded every few so calls interleave."""

    def __init__(self, messages: list[str]) -> None:
        self._messages = messages
        self._next = 0

    async def receive_text(self) -> str | None:
        if self._next >= len(self._messages):
            return None
        self._next += 1
        if self._next % 8 == 0:
            await asyncio.sleep(0)
        return self._messages[self._next - 1]

    async def send_text(self, data: str) -> None:
        return None

    async def close(self, code: int = 1000, reason: str = "") -> None:
        return None


class NullTransport(asyncio.Transport):
    def write(self, data: Any) -> None:
        return None

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        return None

    def pause_reading(self) -> None:
        return None

    def resume_reading(self) -> None:
        return None


async def scripts(calls: int, seconds: int, seed: int = 1) -> list[list[str]]:
    pcm = trim_silence(await synthesize("what is my checking balance", 16000))
    audio = CallerAudio.from_pcm(pcm, 16000, "4:+15550001111")
    stamp = stamp_bytes(time.time())

    def text(template: Any) -> str:
        head: bytes = template.head
        tail: bytes = template.tail
        return (head[head.index(b"{") :] + stamp + tail).decode()

    voiced, silent = [text(t) for t in audio.voiced], text(audio.silent)
    rng = random.Random(seed)
    out = []
    for _ in range(calls):
        messages = [silent] * rng.randint(25, 250)
        while len(messages) < seconds * 50:
            messages += voiced + [silent] * rng.randint(200, 300)
        out.append(messages[: seconds * 50])
    return out


async def run(calls: int, seconds: int, socket: bool, per_wake: int = 1) -> dict[str, Any]:
    messages = await scripts(calls, seconds)
    batcher = VadBatcher(get_shared_model(), max_wait_s=0.0)
    events: list[list[TurnEvent]] = [[] for _ in range(calls)]

    def session(i: int, transport: AcsMediaTransport) -> MediaSession:
        return MediaSession(
            call_id=f"bench-{i}",
            transport=transport,
            orchestrator=ListeningCall(events[i]),  # type: ignore[arg-type]
            listener=NoListener(),
            vad=batcher,
        )

    if not socket:
        sessions = [
            session(i, AcsMediaTransport(ScriptedSocket(m), sample_rate=16000))
            for i, m in enumerate(messages)
        ]
        gc.collect()
        gc.freeze()
        cpu = time.thread_time()
        await asyncio.gather(*(s.run() for s in sessions))
        cpu = time.thread_time() - cpu
    else:
        conns = []
        for i in range(calls):

            async def serve(conn: MediaWebSocket, request: UpgradeRequest, i: int = i) -> None:
                conn.accept()
                await session(i, AcsMediaTransport(conn, sample_rate=16000)).run()

            conn = MediaWebSocket(serve, max_size=1 << 20)
            conn.connection_made(NullTransport())
            conn.data_received(UPGRADE)
            conns.append(conn)
        await asyncio.sleep(0.05)
        framed = [[ws_client_header(len(m)) + m.encode() for m in call] for call in messages]
        gc.collect()
        gc.freeze()
        cpu = time.thread_time()
        for k in range(0, seconds * 50, per_wake):
            for conn, call_frames in zip(conns, framed, strict=True):
                conn.data_received(b"".join(call_frames[k : k + per_wake]))
            for _ in range(3):
                await asyncio.sleep(0)
        cpu = time.thread_time() - cpu
        for conn in conns:
            conn.data_received(ws_client_header(2, 0x8) + (1000).to_bytes(2, "big"))
        await asyncio.sleep(0.05)
    gc.unfreeze()
    frames = calls * seconds * 50
    digest = hashlib.sha1(repr(events).encode()).hexdigest()[:12]
    return {
        "frames": frames,
        "us_per_frame": round(cpu * 1e6 / frames, 2),
        "turn_events": sum(len(e) for e in events),
        "events_digest": digest,
        "vad_windows_run": batcher.windows_run,
        "vad_windows_skipped": batcher.windows_skipped,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.frame_path", description=__doc__)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=20, help="audio per call")
    parser.add_argument(
        "--socket", action="store_true", help="through MediaWebSocket's frame parsing and inbox"
    )
    parser.add_argument(
        "--per-wake",
        type=int,
        default=1,
        help="with --socket: frames each call receives at once (2: a call 20 ms behind, as one chunk)",
    )
    parser.add_argument("--label", default="")
    args = parser.parse_args(argv)
    result = asyncio.run(run(args.calls, args.seconds, args.socket, args.per_wake))
    print(
        f"[frame_path] {args.label} {result['frames']} frames{' via the socket' if args.socket else ''}: "
        f"{result['us_per_frame']} us of loop CPU per frame; {result['turn_events']} turn events, digest "
        f"{result['events_digest']}; VAD windows run {result['vad_windows_run']}, "
        f"skipped {result['vad_windows_skipped']}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
