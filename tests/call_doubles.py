"""Test doubles for what an orchestrator (SpeechCascade, VoiceLiveOrchestrator) is handed by the app: the playout's
sink, call control, the transcript store, telemetry and the observer. Each records what it was asked to do.
`slow_down_tools` makes a conversation's tools slow (a slow backend system)."""

from __future__ import annotations

import asyncio
from typing import Any

from voice.transcript import CallOutcome, CallTranscript, TranscriptTurn


class CountingSink:
    """Where PacedPlayout sends frames: counts audio frames and StopAudio messages."""

    def __init__(self) -> None:
        self.frames = 0
        self.stops = 0

    async def send_audio(self, frame: bytes) -> None:
        self.frames += 1

    async def send_stop_audio(self) -> None:
        self.stops += 1


class Control:
    """Call control that records hang-ups and transfers (a transfer succeeds unless `transfer_ok` is False)."""

    def __init__(self, *, transfer_ok: bool = True) -> None:
        self.hung_up: list[str] = []
        self.transfers: list[str] = []
        self.transfer_ok = transfer_ok

    async def hang_up(self, reason: str) -> None:
        self.hung_up.append(reason)

    async def transfer_to_human(self, reason: str) -> bool:
        self.transfers.append(reason)
        return self.transfer_ok


class MemoryTranscripts:
    """A transcript store that keeps one call's turns, outcome and drafts (every one saved; None: cleared) in
    memory."""

    def __init__(self) -> None:
        self.turns: list[TranscriptTurn] = []
        self.outcome: CallOutcome | None = None
        self.drafts: list[TranscriptTurn | None] = []

    async def start_call(self, call_id: str, **_: Any) -> None:
        pass

    async def append_turn(self, turn: TranscriptTurn) -> None:
        self.turns.append(turn)

    async def save_draft(self, draft: TranscriptTurn) -> None:
        self.drafts.append(draft)

    async def clear_draft(self, call_id: str) -> None:
        self.drafts.append(None)

    async def end_call(self, call_id: str, outcome: CallOutcome) -> None:
        self.outcome = outcome

    async def get(self, call_id: str) -> CallTranscript | None:
        return None


class Telemetry:
    """Call telemetry that keeps the barge-in latencies reported."""

    def __init__(self) -> None:
        self.barge_ins: list[float] = []
        self.turns_continued = 0

    def frame_handled(self, lag_s: float) -> None:
        pass

    def frame_malformed(self) -> None:
        pass

    def frames_missing(self, count: int) -> None:
        pass

    def playout_underrun(self) -> None:
        pass

    def barge_in(self, latency_s: float) -> None:
        self.barge_ins.append(latency_s)

    def turn_continued(self) -> None:
        self.turns_continued += 1


class Observer:
    """An orchestrator observer that keeps the turns and agent changes it hears about."""

    def __init__(self) -> None:
        self.turns: list[TranscriptTurn] = []
        self.changes: list[tuple[str, str]] = []
        self.partials: list[tuple[str, str]] = []
        """Turns in progress as published: (speaker, text so far)."""

    async def on_turn(self, turn: TranscriptTurn) -> None:
        self.turns.append(turn)

    def on_partial(self, speaker: str, text: str, agent: str | None) -> None:
        self.partials.append((speaker, text))

    async def on_agent_changed(self, previous: str, current: str) -> None:
        self.changes.append((previous, current))


class SlowCatalog:
    """The agent's real catalog, but every tool takes `delay_s` longer (a slow backend system)."""

    def __init__(self, catalog: Any, delay_s: float) -> None:
        self._catalog = catalog
        self._delay_s = delay_s

    async def invoke(self, *args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(self._delay_s)
        return await self._catalog.invoke(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._catalog, name)


def slow_down_tools(conversation: Any, delay_s: float) -> None:
    """From now on every tool `conversation` (a CallConversation) runs takes `delay_s` longer."""
    real = type(conversation).catalog
    conversation.catalog = lambda: SlowCatalog(real(conversation), delay_s)
