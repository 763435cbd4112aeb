"""Twilio's side of a bidirectional Media Stream: connect to the `<Stream url>`, send `connected` and `start`
(with the TwiML's `<Parameter>`s), then one 20 ms mu-law `media` message every 20 ms (the caller, silence
included); play the agent's `media` in real time into a recording, echo each `mark` once the audio before it
has played, and on `clear` drop the queued audio and echo every outstanding mark at once (as Twilio does).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import uuid
from collections import deque

import orjson
from websockets.asyncio.client import ClientConnection, connect

from apps.acs_simulator import timeline as tl
from apps.acs_simulator.caller_stream import CallerStream
from apps.acs_simulator.media_messages import FRAME_MS
from apps.acs_simulator.playout import frame_is_voiced
from voice.audio.codecs import mulaw_decode, mulaw_encode

log = logging.getLogger(__name__)

RATE = 8000
REDIRECTED = "redirected"
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


class TwilioStream(CallerStream):
    def __init__(
        self,
        url: str,
        *,
        call_sid: str,
        account_sid: str,
        parameters: dict[str, str],
        timeline: tl.Timeline,
    ) -> None:
        super().__init__(RATE, timeline, task_prefix="twilio-sim")
        self.url = url
        self.call_sid = call_sid
        self.account_sid = account_sid
        self.stream_sid = "MZ" + uuid.uuid4().hex
        self.parameters = parameters
        self.playout = MarkedPlayout()
        self.marks_echoed: list[str] = []
        self.unknown_messages = 0
        self._sequence = 0
        self.redirected = asyncio.Event()
        """The call left `<Connect><Stream>` for new TwiML (Twilio's REST API updated it)."""
        self.redirect_twiml: str | None = None

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
        self._start_streaming()

    async def _exchange(
        self, ws: ClientConnection, k: int, t_ms: float, frame: bytes, silent: bool, digit: str | None
    ) -> bool:
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
        return voiced

    async def _echo_mark(self, name: str) -> None:
        assert self._ws is not None
        self.marks_echoed.append(name)
        await self._ws.send(self._message("mark", mark={"name": name}))

    async def _on_message(self, raw: str | bytes) -> None:
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

    async def _last_words(self, ws: ClientConnection) -> None:
        stop = {"accountSid": self.account_sid, "callSid": self.call_sid}
        await ws.send(self._message("stop", stop=stop))

    async def hang_up(self) -> None:
        """The caller hangs up: `stop`, then close the socket."""
        if not self.redirected.is_set():
            await self._hang_up()

    async def leave_stream(self, twiml: str) -> None:
        """The call was redirected to new TwiML: Twilio ends the stream as on a hang-up (`stop`, then close)."""
        if self.redirected.is_set():
            return
        self.redirect_twiml = twiml
        self.redirected.set()
        self.timeline.mark(REDIRECTED)
        await self._hang_up()
