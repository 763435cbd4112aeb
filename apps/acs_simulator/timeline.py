"""What happened on a simulated call and when (ms since the call was placed), plus agent-speech detection.

Event kinds: call_placed, answered, connected, media_connected, media_failed, caller_speech_start,
caller_speech_end, agent_audio_start, agent_audio_stop, stop_audio_received, dtmf_sent, play_requested,
transfer_requested, hangup (detail `by`), disconnected, plus a few diagnostic ones (wait_timeout, ...).
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

CALL_PLACED = "call_placed"
ANSWERED = "answered"
CONNECTED = "connected"
MEDIA_CONNECTED = "media_connected"
MEDIA_FAILED = "media_failed"
MEDIA_CLOSED = "media_closed"
CALLER_SPEECH_START = "caller_speech_start"
CALLER_SPEECH_END = "caller_speech_end"
AGENT_AUDIO_START = "agent_audio_start"
AGENT_AUDIO_STOP = "agent_audio_stop"
STOP_AUDIO_RECEIVED = "stop_audio_received"
DTMF_SENT = "dtmf_sent"
PLAY_REQUESTED = "play_requested"
TRANSFER_REQUESTED = "transfer_requested"
HANGUP = "hangup"
DISCONNECTED = "disconnected"
WAIT_TIMEOUT = "wait_timeout"


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    t_ms: float
    kind: str
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "t_ms": round(self.t_ms, 1),
            "event": self.kind,
            **({"detail": self.detail} if self.detail else {}),
        }


class Timeline:
    """Ordered by time; events can be marked after the fact (agent_audio_stop is known 200 ms late)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.t0 = clock()
        self.events: list[TimelineEvent] = []

    def now_ms(self) -> float:
        return (self._clock() - self.t0) * 1000.0

    def ms_at(self, monotonic_time: float) -> float:
        return (monotonic_time - self.t0) * 1000.0

    def mark(self, kind: str, *, t_ms: float | None = None, **detail: Any) -> TimelineEvent:
        event = TimelineEvent(self.now_ms() if t_ms is None else t_ms, kind, detail)
        bisect.insort_right(self.events, event, key=lambda e: e.t_ms)
        return event

    def of(self, kind: str) -> list[TimelineEvent]:
        return [e for e in self.events if e.kind == kind]

    def first(self, kind: str) -> TimelineEvent | None:
        return next((e for e in self.events if e.kind == kind), None)

    def kinds(self) -> list[str]:
        return [e.kind for e in self.events]

    def to_json_obj(self) -> list[dict[str, Any]]:
        return [e.as_dict() for e in self.events]

    def to_json(self) -> str:
        return orjson.dumps(self.to_json_obj(), option=orjson.OPT_INDENT_2).decode()

    def format_table(self) -> str:
        rows = [("t (s)", "event", "detail")]
        for e in self.events:
            detail = " ".join(f"{k}={v}" for k, v in e.detail.items())
            rows.append((f"{e.t_ms / 1000:8.3f}", e.kind, detail))
        width = max(len(r[1]) for r in rows)
        return "\n".join(f"{t:>8}  {kind:<{width}}  {detail}".rstrip() for t, kind, detail in rows)


class AgentAudioDetector:
    """Turns a steady sequence of 20 ms frames (voiced or not) into agent_audio_start / agent_audio_stop.

    start = the first voiced frame after at least `gap_ms` without agent audio (or the first ever);
    stop = the end of the last voiced frame before such a gap, emitted once the gap has been observed.
    Frame times are the frame's start in ms; feed every frame, silent ones included.
    """

    def __init__(
        self,
        emit: Callable[[str, float], None] | None = None,
        *,
        gap_ms: float = 200.0,
        frame_ms: float = 20.0,
    ) -> None:
        self._emit = emit or (lambda kind, t: None)
        self.gap_ms = gap_ms
        self.frame_ms = frame_ms
        self.speaking = False
        self.last_voiced_ms: float | None = None
        self.last_start_ms: float | None = None
        self.last_stop_ms: float | None = None
        self.events: list[tuple[str, float]] = []

    def _out(self, kind: str, t_ms: float) -> None:
        self.events.append((kind, t_ms))
        self._emit(kind, t_ms)

    def feed(self, t_ms: float, voiced: bool) -> None:
        if voiced:
            if not self.speaking:
                self.speaking = True
                self.last_start_ms = t_ms
                self._out(AGENT_AUDIO_START, t_ms)
            self.last_voiced_ms = t_ms
        elif self.speaking and self.last_voiced_ms is not None and t_ms - self.last_voiced_ms >= self.gap_ms:
            self._stop()

    def flush(self) -> None:
        """End of call: close an utterance still in progress."""
        if self.speaking:
            self._stop()

    def _stop(self) -> None:
        assert self.last_voiced_ms is not None
        self.speaking = False
        self.last_stop_ms = self.last_voiced_ms + self.frame_ms
        self._out(AGENT_AUDIO_STOP, self.last_stop_ms)

    def silent_for_ms(self, now_ms: float) -> float:
        """How long the agent has been silent at `now_ms` (0 while speaking)."""
        if self.speaking:
            return 0.0
        if self.last_voiced_ms is None:
            return now_ms
        return max(0.0, now_ms - (self.last_voiced_ms + self.frame_ms))
