"""One call's Twilio Media Streams socket as a `MediaTransport` (messages: `twilio_messages`).

Twilio speaks G.711 mu-law at 8 kHz; the pipeline runs at `sample_rate` (16 or 24 kHz), so inbound audio is
decoded and resampled up into whole pipeline frames, and outbound frames are resampled down and encoded.

Marks: every `mark_every_frames` outbound frames we send a mark naming the frame count so far; Twilio echoes a
mark once the audio before it has played, so `frames_played` is how much agent audio the caller has heard for
sure. A clear (barge-in) makes Twilio drop its queue and echo every outstanding mark at once: those come
back unplayed, so marks outstanding at a clear are forgotten, not counted.

What the caller heard at a barge-in (the transcript keeps only that): the pacing clock says how much of what
was sent has played; `unplayed_frames` (`PlaybackReport`) corrects it when Twilio's playback falls behind:
frames past the last echoed mark cannot have played faster than real time since that echo.
"""

from __future__ import annotations

import base64
import binascii
import logging
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime

from voice.audio.codecs import mulaw_decode, mulaw_encode
from voice.audio.integer_resample import IntegerResampler
from voice.transports.base import (
    AudioFrame,
    DtmfTone,
    InboundMedia,
    MediaSocket,
    MediaStarted,
    TransportStats,
)
from voice.transports.twilio_messages import (
    MULAW_RATE,
    ConnectedMessage,
    DtmfMessage,
    MalformedMessage,
    MarkMessage,
    MediaMessage,
    StartMessage,
    StopMessage,
    clear_json,
    mark_json,
    media_json,
    parse_inbound,
)

log = logging.getLogger(__name__)

_VALID_DTMF = frozenset("0123456789*#ABCD")
MAX_PENDING_MARKS = 64
"""Marks we wait on at most; older ones are forgotten (Twilio answers each, so this only bounds a stall)."""
FRAME_SECONDS = 0.020
MAX_READY_FRAMES = 100
"""Inbound pipeline frames decoded but not yet taken: 2 s (a payload far over 20 ms is cut to this)."""


class TwilioMediaTransport:
    def __init__(
        self,
        socket: MediaSocket,
        *,
        sample_rate: int,
        mark_every_frames: int = 5,
        max_logged_errors: int = 5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if mark_every_frames < 1:
            raise ValueError("mark_every_frames must be >= 1")
        self._socket = socket
        self.sample_rate = sample_rate
        self.frame_bytes = sample_rate // 50 * 2
        self.stats = TransportStats()
        self._max_logged_errors = max_logged_errors
        self._mark_every = mark_every_frames
        self.stream_sid: str | None = None
        self.call_sid: str | None = None
        self.custom_parameters: dict[str, str] = {}
        self.stopped = False
        self.marks_sent = 0
        self.clears_sent = 0
        self.frames_played = 0
        """Outbound frames Twilio confirmed played (through the last echoed mark that was not cleared)."""
        self._pending_marks: deque[tuple[str, int]] = deque(maxlen=MAX_PENDING_MARKS)
        self._clock = clock
        self._known_played = 0  # frames played for sure (an echoed mark) or surely by now (an idle gap)
        self._known_at = 0.0  # monotonic time of that knowledge
        # Whole ratios (8 -> 16 or 24 kHz): one output chunk per 20 ms input, ~2 ms of filter delay.
        self._to_pipeline = IntegerResampler(MULAW_RATE, sample_rate)
        self._to_twilio = IntegerResampler(sample_rate, MULAW_RATE)
        self._inbound = bytearray()
        self._ready: deque[InboundMedia] = deque()

    # --- inbound ---------------------------------------------------------------------------------
    async def receive(self) -> InboundMedia | None:
        """Next inbound event; None once Twilio sent `stop` or the socket closed. Malformed input is counted
        and skipped."""
        while True:
            if self._ready:
                return self._ready.popleft()
            if self.stopped:
                return None
            text = await self._socket.receive_text()
            if text is None:
                self.stopped = True
                return None
            self.stats.messages_in += 1
            try:
                event = self._decode(text)
            except MalformedMessage as exc:
                self.stats.malformed_in += 1
                if self.stats.malformed_in <= self._max_logged_errors:
                    log.warning("malformed twilio media message dropped", extra={"error": str(exc)})
                continue
            if event is not None:
                return event

    async def wait_for_start(self, max_events: int = 20) -> MediaStarted | None:
        """Read up to Twilio's `start` (which carries the call's ids and our token) and keep it, and anything
        before it, for `receive()`. None if the stream ended or sent `max_events` other events first."""
        early: list[InboundMedia] = []
        while len(early) < max_events and (event := await self.receive()) is not None:
            if isinstance(event, MediaStarted):
                self._ready.extendleft(reversed([event, *early]))
                return event
            early.append(event)
        return None

    def _decode(self, text: str) -> InboundMedia | None:
        message = parse_inbound(text)
        if isinstance(message, MediaMessage):
            self._on_media(message)
            return None
        if isinstance(message, StartMessage):
            return self._on_start(message)
        if isinstance(message, DtmfMessage):
            digit = message.dtmf.digit.strip().upper()
            if len(digit) != 1 or digit not in _VALID_DTMF:
                raise MalformedMessage(f"bad DTMF digit {message.dtmf.digit!r}")
            return DtmfTone(digit=digit)
        if isinstance(message, MarkMessage):
            self._on_mark(message.mark.name)
            return None
        if isinstance(message, StopMessage):
            self.stopped = True
            return None
        if isinstance(message, ConnectedMessage):
            return None
        return None  # an event of a newer protocol: not ours, not an error

    def _on_start(self, message: StartMessage) -> MediaStarted:
        if self.stream_sid is not None:
            raise MalformedMessage("second start on one stream")
        fmt = message.start.media_format
        if fmt.encoding != "audio/x-mulaw" or fmt.sample_rate != MULAW_RATE or fmt.channels != 1:
            raise MalformedMessage(
                f"unsupported media format {fmt.encoding}/{fmt.sample_rate}/{fmt.channels}"
            )
        self.stream_sid = message.start.stream_sid
        self.call_sid = message.start.call_sid
        self.custom_parameters = dict(message.start.custom_parameters)
        return MediaStarted(
            sample_rate=self.sample_rate,
            channels=1,
            frame_bytes=self.frame_bytes,
            subscription_id=self.stream_sid,
        )

    def _on_media(self, message: MediaMessage) -> None:
        if self.stream_sid is None:
            raise MalformedMessage("media before start")
        if message.media.track not in ("inbound", "inbound_track"):
            return  # an outbound-track echo (a `both_tracks` stream): the agent's own audio
        try:
            ulaw = base64.b64decode(message.media.payload, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise MalformedMessage("media payload is not base64") from exc
        if not ulaw:
            raise MalformedMessage("media without payload")
        self._inbound += self._to_pipeline.process(mulaw_decode(ulaw))
        stamp = _stamp(message.media.timestamp)
        frame_bytes = self.frame_bytes
        while len(self._inbound) >= frame_bytes:
            pcm = bytes(self._inbound[:frame_bytes])
            del self._inbound[:frame_bytes]
            if len(self._ready) >= MAX_READY_FRAMES:
                raise MalformedMessage("media payload far longer than a frame")
            self.stats.audio_frames_in += 1
            self._ready.append(AudioFrame(pcm=pcm, silent=False, timestamp=stamp, participant=None))
            stamp = None  # one stamp per message: later frames of an oversized payload go by count

    def _on_mark(self, name: str) -> None:
        if all(pending != name for pending, _ in self._pending_marks):
            return  # a mark a clear wrote off (its audio was dropped), or not ours
        while self._pending_marks:
            pending, frames = self._pending_marks.popleft()
            if pending == name:
                self.frames_played = frames
                if frames > self._known_played:
                    self._known_played, self._known_at = frames, self._clock()
                return

    # --- outbound --------------------------------------------------------------------------------
    async def send_audio(self, frame: bytes) -> None:
        if self.stream_sid is None:
            return  # Twilio has not said which stream yet: nothing can be addressed (never happens after start)
        now = self._clock()
        in_flight = self.stats.audio_frames_out - self._known_played
        if now - self._known_at >= in_flight * FRAME_SECONDS:
            # Everything sent could have played by now (an idle gap): playback restarts with this frame.
            self._known_played, self._known_at = self.stats.audio_frames_out, now
        ulaw = mulaw_encode(self._to_twilio.process(frame))
        if ulaw:
            await self._socket.send_text(media_json(self.stream_sid, base64.b64encode(ulaw).decode("ascii")))
        self.stats.audio_frames_out += 1
        if self.stats.audio_frames_out % self._mark_every == 0:
            name = f"f{self.stats.audio_frames_out}"
            self._pending_marks.append((name, self.stats.audio_frames_out))
            await self._socket.send_text(mark_json(self.stream_sid, name))
            self.marks_sent += 1

    async def send_stop_audio(self) -> None:
        if self.stream_sid is None:
            return
        self._pending_marks.clear()  # Twilio echoes them for dropped audio: they say nothing was played
        self._known_played, self._known_at = self.stats.audio_frames_out, self._clock()  # nothing left queued
        self._to_twilio.reset()
        await self._socket.send_text(clear_json(self.stream_sid))
        self.clears_sent += 1
        self.stats.stop_audio_out += 1

    def unplayed_frames(self, now: float) -> int:
        """Frames sent that cannot have finished playing by `now`: Twilio plays in real time at best."""
        could_have_played = int((now - self._known_at) / FRAME_SECONDS + 1e-6)
        return max(0, self.stats.audio_frames_out - self._known_played - could_have_played)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        await self._socket.close(code, reason)


def _stamp(timestamp: str | None) -> str | None:
    """Twilio's media timestamp (ms since the stream started) as the ISO 8601 stamp the cadence meter reads
    (only differences between stamps matter)."""
    if timestamp is None or not timestamp.isdigit():
        return None
    return datetime.fromtimestamp(int(timestamp) / 1000, UTC).isoformat()
