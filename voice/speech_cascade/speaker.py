"""The agent's voice on one call: clauses -> TTS -> paced playout, and a record of what the caller heard.

One `Utterance` per agent turn. Clauses are synthesised in order as they are added (TTS of clause n+1 starts
while clause n plays), and each clause may carry its own voice, so an announced handoff can switch voices
within a turn. On barge-in, `interrupt()` measures how far playback got *before* it drops the queue and
sends StopAudio, so the history keeps only the words the caller actually heard.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from voice.transports.playout import FRAME_SECONDS, PacedPlayout
from voice.tts.base import TextToSpeech

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Voice:
    """How a clause is spoken (from the agent's `voice` section)."""

    name: str | None = None
    rate: float = 1.0
    style: str | None = None


@dataclass
class _Clause:
    text: str
    voice: Voice
    start_byte: int = -1  # offset of its first byte within the utterance; -1 until synthesised
    end_byte: int = -1


@dataclass
class Utterance:
    """One agent turn's speech. Add clauses, then `finish()`; `done` resolves when it has played out."""

    sample_rate: int
    clauses: list[_Clause] = field(default_factory=list)
    first_audio_at: float | None = None  # monotonic time the first chunk reached the playout
    first_chunk_at: float | None = None  # monotonic time TTS gave the first chunk (a gate may hold it back)
    first_clause_at: float | None = None
    interrupted: bool = False
    heard_bytes: int | None = None  # set on interruption
    _queue: asyncio.Queue[_Clause | None] = field(default_factory=asyncio.Queue)
    _enqueued: int = 0
    _frames_at_start: int = 0
    _finished: bool = False
    on_text: Callable[[str], None] | None = None
    """Told the whole text so far each time a clause is added (live partial transcripts)."""
    gate: asyncio.Future[None] | None = None
    """A reply started before the caller's turn was over: synthesised, but nothing reaches the caller until
    this resolves (it is cancelled with the reply if the caller goes on)."""

    def add(self, text: str, voice: Voice) -> None:
        text = text.strip()
        if not text or self._finished:
            return
        if self.first_clause_at is None:
            self.first_clause_at = time.monotonic()
        clause = _Clause(text, voice)
        self.clauses.append(clause)
        self._queue.put_nowait(clause)
        if self.on_text is not None:
            self.on_text(self.text)

    def finish(self) -> None:
        if not self._finished:
            self._finished = True
            self._queue.put_nowait(None)

    @property
    def text(self) -> str:
        return " ".join(c.text for c in self.clauses)

    @property
    def heard_text(self) -> str:
        """Everything if it played out; otherwise the clauses (and words of the clause) played so far."""
        if self.heard_bytes is None:
            return self.text
        heard: list[str] = []
        for clause in self.clauses:
            if clause.start_byte < 0 or clause.start_byte >= self.heard_bytes:
                break
            if clause.end_byte <= self.heard_bytes:
                heard.append(clause.text)
                continue
            words = clause.text.split()
            share = (self.heard_bytes - clause.start_byte) / max(1, clause.end_byte - clause.start_byte)
            heard.extend(words[: int(len(words) * share)])
            break
        return " ".join(heard)

    @property
    def tts_first_audio_ms(self) -> float | None:
        if self.first_chunk_at is None or self.first_clause_at is None:
            return None
        return (self.first_chunk_at - self.first_clause_at) * 1000


class AgentSpeaker:
    def __init__(
        self, tts: TextToSpeech, playout: PacedPlayout, *, sample_rate: int, call_id: str = ""
    ) -> None:
        self._tts = tts
        self._playout = playout
        self._sample_rate = sample_rate
        self._call_id = call_id
        self._current: Utterance | None = None
        self._worker: asyncio.Task[None] | None = None
        self.last_cut_sent_stop_audio = False
        """Whether the latest `interrupt()` sent StopAudio (False when a pause had already silenced us)."""

    @property
    def speaking(self) -> bool:
        """True while an utterance is being synthesised or the caller can still hear agent audio."""
        return (self._worker is not None and not self._worker.done()) or self._playout.is_audible

    def start(self, gate: asyncio.Future[None] | None = None) -> Utterance:
        """Begin a new utterance (held back until `gate` resolves, if given). The previous one must be finished
        or interrupted first."""
        if self._worker is not None and not self._worker.done():
            raise RuntimeError("an utterance is still playing; interrupt() or await done() first")
        utterance = Utterance(
            sample_rate=self._sample_rate, _frames_at_start=self._playout.frames_sent, gate=gate
        )
        self._current = utterance
        self._worker = asyncio.create_task(self._speak(utterance), name=f"speak:{self._call_id}")
        return utterance

    async def done(self) -> None:
        """Wait for the current utterance to finish playing (or to be interrupted)."""
        if self._worker is not None:
            await asyncio.wait({self._worker})  # returns (never raises) when the worker ends or is cut

    async def interrupt(self) -> Utterance | None:
        """Stop speaking now: note what was heard, cancel synthesis, drop queued audio, send StopAudio.

        Returns the utterance that was cut, or None if nothing was playing.
        """
        utterance, worker = self._current, self._worker
        self.last_cut_sent_stop_audio = False
        if utterance is None or worker is None or (worker.done() and not self._playout.is_audible):
            await self._playout.interrupt()  # nothing audible, so no StopAudio; but a pause must not linger
            return None
        self.mark_heard(utterance)
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await worker
        self.last_cut_sent_stop_audio = await self._playout.interrupt()
        return utterance

    async def pause(self) -> bool:
        """Go quiet at once, keeping the rest of the utterance (the caller may only be saying "uh-huh").
        True if StopAudio went out (the caller could hear us)."""
        return await self._playout.pause()

    def resume(self) -> None:
        """Carry on from exactly where `pause()` stopped."""
        self._playout.resume()

    def mark_heard(self, utterance: Utterance) -> None:
        """Freeze how much of `utterance` the caller has heard by now (it is being cut short)."""
        if utterance is self._current and utterance.heard_bytes is None:
            utterance.heard_bytes = self._heard_bytes(utterance)
            utterance.interrupted = True

    async def aclose(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._worker

    def _heard_bytes(self, utterance: Utterance) -> int:
        frame_bytes = self._playout.frame_bytes
        sent = (self._playout.frames_sent - utterance._frames_at_start) * frame_bytes
        not_yet_played = max(0.0, self._playout.audible_until - time.monotonic())
        return max(0, sent - int(not_yet_played / FRAME_SECONDS) * frame_bytes)

    async def _speak(self, utterance: Utterance) -> None:
        while (clause := await utterance._queue.get()) is not None:
            clause.start_byte = utterance._enqueued
            try:
                await self._synthesize(utterance, clause)
            except asyncio.CancelledError:
                raise
            except Exception:
                # Every provider in the chain failed for this clause: skip it rather than stall the turn.
                log.exception("tts failed for a clause; skipping it")
            clause.end_byte = utterance._enqueued
        self._playout.end_utterance()
        await self._playout.wait_idle()

    async def _synthesize(self, utterance: Utterance, clause: _Clause) -> None:
        voice = clause.voice
        stream = self._tts.stream(
            clause.text, sample_rate=self._sample_rate, voice=voice.name, rate=voice.rate, style=voice.style
        )
        async with contextlib.aclosing(stream):
            async for chunk in stream:
                if utterance.first_chunk_at is None:
                    utterance.first_chunk_at = time.monotonic()
                if utterance.gate is not None and not utterance.gate.done():
                    await asyncio.shield(utterance.gate)  # the reply's owner resolves or drops it
                if utterance.first_audio_at is None:
                    utterance.first_audio_at = time.monotonic()
                utterance._enqueued += len(chunk)
                self._playout.enqueue(chunk)
