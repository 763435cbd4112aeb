"""The bookkeeping of one realtime response (one agent turn) and of the caller's speech it answers, and how
they become transcript records."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime

from voice.llm.base import ToolCall
from voice.session.recorder import TurnRecorder, response_ms
from voice.transcript import ToolCallRecord, TurnKind, TurnLatency, utcnow

TAG_KEY = "switchboard_request"  # response metadata that tells our own responses from the server's


@dataclass
class CallerSpeech:
    """One caller turn as the server's VAD and transcription saw it (times on our clocks): one input item, or
    several when the caller went on after the turn end before hearing the reply (`CallerTurns`)."""

    started_at: datetime
    ended_at: datetime | None = None
    last_voiced_at: float | None = None  # monotonic arrival of the caller's last voiced audio
    end_of_turn_ms: float | None = None
    kind: TurnKind = "speech"
    parts: dict[str, str | None] = field(default_factory=dict)
    """The turn's input items in order, each with its transcript (None until it arrives)."""
    committed: bool = False
    """The words are final (the reply was heard, a tool acted on them, or the caller moved on): written down
    once every part's transcript is in."""
    committed_at: float = 0.0  # monotonic
    recorded: bool = False

    @property
    def text(self) -> str:
        return " ".join(t.strip() for t in self.parts.values() if t and t.strip())

    @property
    def transcribed(self) -> bool:
        return all(t is not None for t in self.parts.values())


@dataclass
class ResponseRequest:
    """A `response.create` we sent: what kind of turn it is, the text we asked VoiceLive to say verbatim
    (a fallback if the server sends no transcript), and who waits for it to be heard."""

    tag: str
    kind: TurnKind
    text: str | None = None
    heard: asyncio.Future[bool] = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    """Resolved when the response ends: True if played to the end, False if cut short or lost."""

    def resolve(self, played: bool) -> None:
        if not self.heard.done():
            self.heard.set_result(played)


@dataclass
class ResponseTurn:
    response_id: str | None
    agent: str
    kind: TurnKind = "reply"
    caller: CallerSpeech | None = None
    request: ResponseRequest | None = None
    started_at: datetime = field(default_factory=utcnow)
    transcript: list[str] = field(default_factory=list)
    final_transcript: str | None = None
    has_audio: bool = False
    audio_items: set[str | None] = field(default_factory=set)
    first_audio_at: float | None = None
    calls: dict[str, ToolCall] = field(default_factory=dict)
    tool_records: list[ToolCallRecord] = field(default_factory=list)
    done: bool = False
    interrupted: bool = False
    heard_ms: int | None = None
    audio_ms: int | None = None
    recorded: bool = False
    audible_at: float | None = None
    """Monotonic time its first audio started playing at the caller (estimated when it was queued)."""
    output_items: list[str] = field(default_factory=list)
    """The conversation items the response added (assistant messages, function calls)."""
    tools_started: bool = False
    dropped: bool = False
    """The caller went on before hearing it: cancelled, its items deleted, never written down."""

    @property
    def text(self) -> str:
        if self.final_transcript:
            return self.final_transcript.strip()
        spoken = "".join(self.transcript).strip()
        if spoken:
            return spoken
        return (self.request.text or "") if self.request is not None else ""

    @property
    def heard_text(self) -> str:
        """What the caller heard: all of it, or the share of words matching the share of audio played."""
        text = self.text
        if not self.interrupted:
            return text
        if not self.has_audio or self.heard_ms is None or not self.audio_ms:
            return ""
        words = text.split()
        share = min(1.0, self.heard_ms / self.audio_ms)
        return " ".join(words[: int(len(words) * share)])

    def add_output_item(self, item_id: object) -> None:
        if isinstance(item_id, str) and item_id and item_id not in self.output_items:
            self.output_items.append(item_id)

    def add_call(self, call_id: str | None, name: str | None, arguments: str | None) -> None:
        if not call_id or not name or call_id in self.calls:
            return
        self.calls[call_id] = ToolCall(id=call_id, name=name, arguments=arguments or "")


def record_response(recorder: TurnRecorder, state: ResponseTurn) -> None:
    """Write one response as the caller heard it."""
    latency = None
    caller = state.caller
    if caller is not None:
        latency = TurnLatency(
            end_of_turn_ms=caller.end_of_turn_ms,
            response_ms=response_ms(caller.last_voiced_at, state.first_audio_at),
        )
    recorder.agent(
        kind=state.kind,
        agent=state.agent,
        full_text=state.text,
        heard_text=state.heard_text,
        interrupted=state.interrupted,
        started_at=state.started_at,
        tool_calls=state.tool_records,
        latency=latency,
    )


def record_caller(recorder: TurnRecorder, text: str, speech: CallerSpeech, *, agent: str) -> None:
    recorder.caller(
        text,
        kind=speech.kind,
        agent=agent,
        started_at=speech.started_at,
        ended_at=speech.ended_at or utcnow(),
    )
