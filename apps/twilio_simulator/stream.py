"""Twilio's side of a bidirectional Media Stream: connect to the `<Stream url>`, send `connected` and `start`
(with the TwiML's `<Parameter>`s), then one 20 ms mu-law `media` message every 20 ms (the caller, silence
included); play the agent's `media` in real time into a recording, echo each `mark` once the audio before it
has played, and on `clear` drop the queued audio and echo every outstanding mark at once (as Twilio does).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import uuid
from collections import deque
from collections.abc import Callable

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from apps.acs_simulator import timeline as tl
from apps.acs_simulator.caller_audio import CallerAudioSource
from apps.acs_simulator.pacing import FramePacer
from apps.acs_simulator.playout import frame_is_voiced
from voice.audio.codecs import mulaw_decode, mulaw_encode

log = logging.getLogger(__name__)

RATE = 8000
FRAME_MS = 20
FRAME_BYTES = RATE * FRAME_MS // 1000 * 2  # PCM16 at 8 kHz: 320 bytes (160 mu-law bytes on the wire)


class MarkedPlayout:
    """The caller's loudspeaker: agent audio queued as it arrives, one frame per tick, marks in line."""

    def __init__(self) -> None:
        self._queue = bytearray()
        self._queued_total = 0  # bytes ever queued (less those a clear dropped)
        self._played_total = 0
        self._marks: deque[tuple[int, str]] = deque()  # (queued_total when the mark arrived, name)
        self.recording = bytearray()
        self.clears = 0
        self.dropped_bytes = 0

    def push(self, pcm: bytes) -> None:
        self._queue += pcm
        self._queued_total += len(pcm)

    def mark(self, name: str) -> None:
        self._marks.append((self._queued_total, name))

    def clear(self) -> list[str]:
        """Drop queued audio; every outstanding mark comes back now (its audio will never play)."""
        self.clears += 1
        self.dropped_bytes += len(self._queue)
        self._queue.clear()
        self._queued_total = self._played_total
        names = [name for _, name in self._marks]
        self._marks.clear()
        return names

    @property
    def queued_ms(self) -> float:
        return len(self._queue) / 2 / RATE * 1000

    def tick(self) -> tuple[bool, list[str]]:
        """Play one frame: (it carried agent speech, marks now reached)."""
        frame = bytes(self._queue[:FRAME_BYTES])
        del self._queue[:FRAME_BYTES]
        self._played_total += len(frame)
        self.recording += frame + bytes(FRAME_BYTES - len(frame))
        reached = []
        while self._marks and self._marks[0][0] <= self._played_total:
            reached.append(self._marks.popleft()[1])
        return (bool(frame) and frame_is_voiced(frame)), reached


class TwilioStream:
    def __init__(
        self,
        url: str,
        *,
        call_sid: str,
        account_sid: str,
        parameters: dict[str, str],
        timeline: tl.Timeline,
    ) -> None:
        self.url = url
        self.call_sid = call_sid
        self.account_sid = account_sid
        self.stream_sid = "MZ" + uuid.uuid4().hex
        self.parameters = parameters
        self.timeline = timeline
        self.playout = MarkedPlayout()

        def mark_agent_audio(kind: str, t_ms: float) -> None:
            timeline.mark(kind, t_ms=t_ms)

        self.detector = tl.AgentAudioDetector(mark_agent_audio)
        self.source = CallerAudioSource(RATE, timeline.mark)
        self.pacer = FramePacer(FRAME_MS / 1000)
        self.marks_echoed: list[str] = []
        self.unknown_messages = 0
        self.closed_by_backend = asyncio.Event()
        self.close_code: int | None = None
        self.close_reason = ""
        self._ws: ClientConnection | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._tick = asyncio.Event()
        self._base_ms = 0.0
        self._now_ms = 0.0
        self._sequence = 0
        self._closing = False

    def _message(self, event: str, **body: object) -> str:
        self._sequence += 1
        return orjson.dumps(
            {"event": event, "sequenceNumber": str(self._sequence), "streamSid": self.stream_sid, **body}
        ).decode()

    async def connect(self, open_timeout_s: float = 10.0) -> None:
        self._ws = await connect(self.url, open_timeout=open_timeout_s, max_size=2**20, compression=None)
        await self._ws.send(
            orjson.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}).decode()
        )
        start = {
            "accountSid": self.account_sid,
            "streamSid": self.stream_sid,
            "callSid": self.call_sid,
            "tracks": ["inbound"],
            "customParameters": self.parameters,
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": RATE, "channels": 1},
        }
        await self._ws.send(self._message("start", start=start))
        t0 = self.pacer.start()
        self._base_ms = self._now_ms = self.timeline.ms_at(t0)
        self._tasks = [
            asyncio.create_task(self._frames(), name="twilio-sim-frames"),
            asyncio.create_task(self._receive(), name="twilio-sim-receive"),
        ]

    # ---- the media clock, for the caller script (apps.acs_simulator.caller_audio.AgentEar) ----------------
    def now_ms(self) -> float:
        return self._now_ms

    async def wait_until(self, predicate: Callable[[], bool], timeout_s: float) -> bool:
        async def poll() -> bool:
            while not predicate():
                if self.closed_by_backend.is_set() or not self._tasks or self._tasks[0].done():
                    return False
                await self._tick.wait()
            return True

        try:
            return await asyncio.wait_for(poll(), timeout_s)
        except TimeoutError:
            return False

    # ---- loops --------------------------------------------------------------------------------------------
    async def _frames(self) -> None:
        ws = self._ws
        assert ws is not None
        k = 0
        try:
            while True:
                await self.pacer.wait_for(k)
                t_ms = self._base_ms + k * FRAME_MS
                frame, _silent, digit = self.source.next(t_ms)
                if digit is not None:
                    await ws.send(self._message("dtmf", dtmf={"track": "inbound_track", "digit": digit}))
                payload = base64.b64encode(mulaw_encode(frame)).decode("ascii")
                media = {
                    "track": "inbound",
                    "chunk": str(k + 1),
                    "timestamp": str(k * FRAME_MS),
                    "payload": payload,
                }
                await ws.send(self._message("media", media=media))
                voiced, reached = self.playout.tick()
                for name in reached:
                    await self._echo_mark(name)
                self.detector.feed(t_ms, voiced)
                self._now_ms = t_ms + FRAME_MS
                self._tick.set()
                self._tick = asyncio.Event()
                k += 1
        except ConnectionClosed:
            self._peer_closed()

    async def _echo_mark(self, name: str) -> None:
        assert self._ws is not None
        self.marks_echoed.append(name)
        await self._ws.send(self._message("mark", mark={"name": name}))

    async def _receive(self) -> None:
        ws = self._ws
        assert ws is not None
        try:
            async for raw in ws:
                message = orjson.loads(raw)
                event = message.get("event") if isinstance(message, dict) else None
                if event == "media":
                    self.playout.push(mulaw_decode(base64.b64decode(message["media"]["payload"])))
                elif event == "mark":
                    self.playout.mark(message["mark"]["name"])
                elif event == "clear":
                    dropped_ms = self.playout.queued_ms
                    for name in self.playout.clear():
                        await self._echo_mark(name)
                    self.timeline.mark(tl.STOP_AUDIO_RECEIVED, dropped_ms=round(dropped_ms))
                else:
                    self.unknown_messages += 1
        except ConnectionClosed:
            pass
        self._peer_closed()

    def _peer_closed(self) -> None:
        if not self._closing and not self.closed_by_backend.is_set() and self._ws is not None:
            self.close_code, self.close_reason = self._ws.close_code, self._ws.close_reason or ""
            self.closed_by_backend.set()
        self._tick.set()

    async def hang_up(self) -> None:
        """The caller hangs up: `stop`, then close the socket."""
        self._closing = True
        frames = self._tasks[0] if self._tasks else None
        if frames is not None:
            frames.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await frames
        self.source.close()
        if self._ws is not None:
            with contextlib.suppress(Exception):
                stop = {"accountSid": self.account_sid, "callSid": self.call_sid}
                await self._ws.send(self._message("stop", stop=stop))
                await asyncio.wait_for(self._ws.close(code=1000, reason="call ended"), 5.0)
        for task in self._tasks[1:]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.detector.flush()
        self._tick.set()
