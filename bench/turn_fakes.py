"""A fake streaming recogniser for the latency benchmark: it knows the caller's script and gives partials as the
words are heard, so the semantic end of turn gets the words signal a real streaming STT gives.

The bench writes the script (JSON): for each caller utterance, in call order, its parts as
`[text, voiced_frames]`, counted with `bench.phrases.voiced_frames` over the phrase's 20 ms frames exactly as the simulator
sends them. A session counts the voiced frames pushed to it (the cascade pushes every frame of a caller's
turn, pre-roll included), maps the count onto the script (words spread over a part by length), and reports
the words heard `partial_lag_ms` earlier as the partial. `end_of_turn()` returns the words since the last one
after `latency_ms`, like the other fakes. Every session (call) starts the script from the top.

A path that resamples and re-chunks the caller's audio (VoiceLive: client -> realtime server at 16 kHz) puts the
voiced edges on another frame grid and counts an utterance a frame over or short. So a count within
`SNAP_FRAMES` of an utterance's end, either side, is that end, and a turn's end re-anchors the count there:
the error stays within one utterance instead of adding up over a call until a line's partial takes the next
line's first word, which no recogniser can have heard yet.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from apps.backend.providers import ProviderFactory, ProviderSet
from apps.backend.settings import Settings
from bench.fakes import FakeChatModel, FakeLatencies, FakeTextToSpeech
from bench.phrases import voiced_frames
from voice.speech_cascade.providers import CascadeProviders
from voice.stt.base import Recognition, SttConfig

SNAP_FRAMES = 2  # counts this close to an utterance's end are its end (frame edges differ by a frame or two)
# The fakes' usual reply starts the same way (the first clause, "Sure, ...", is what the caller waits for) but
# runs 8 s; this one ends sooner, so a turn of the benchmark takes seconds, not ten.
SHORT_REPLY = "Sure, I can help with that. Your checking balance is one thousand two hundred dollars."

Script = list[list[tuple[str, int]]]


@dataclass(frozen=True)
class _Word:
    text: str
    at: float  # voiced frames into the session at which the word is complete


def _timeline(script: Script) -> tuple[list[_Word], list[float]]:
    """Every word of the script with the count at which it is heard, and each utterance's end count."""
    words: list[_Word] = []
    ends: list[float] = []
    position = 0.0
    for utterance in script:
        for text, frames in utterance:
            parts = text.split()
            total = sum(len(w) for w in parts) or 1
            done = 0
            for word in parts:
                done += len(word)
                words.append(_Word(word, position + frames * done / total))
            position += frames
        ends.append(position)
    return words, ends


class ScriptedSttSession:
    def __init__(self, script: Script, config: SttConfig, latency_ms: float, partial_lag_ms: float) -> None:
        self._words, self._ends = _timeline(script)
        self._rate = config.sample_rate
        self._on_partial = config.on_partial
        self._latency_s = latency_ms / 1000
        self._lag_s = partial_lag_ms / 1000
        self._heard = 0.0
        self._returned = 0  # words handed out by end_of_turn so far
        self._closed = False

    def _snapped(self, count: float) -> float:
        nearest = min(self._ends, key=lambda end: abs(end - count), default=count)
        return nearest if abs(nearest - count) <= SNAP_FRAMES else count

    def _reanchor(self) -> None:
        """A turn ended: a count near an utterance's end is that end, so its error does not carry on."""
        self._heard = self._snapped(self._heard)

    def _words_to(self, count: float) -> int:
        count = self._snapped(count)
        return sum(1 for w in self._words if w.at <= count + 1e-9)

    def push(self, pcm: bytes) -> None:
        self._heard += voiced_frames(pcm, self._rate)
        if self._on_partial is None:
            return
        asyncio.get_running_loop().call_later(self._lag_s, self._partial, self._heard)

    def _partial(self, heard: float) -> None:
        if self._closed:
            return
        upto = self._words_to(heard)
        if upto > self._returned and self._on_partial is not None:
            self._on_partial(" ".join(w.text for w in self._words[self._returned : upto]))

    async def end_of_turn(self) -> Recognition:
        self._reanchor()
        upto = max(self._returned, self._words_to(self._heard))
        text = " ".join(w.text for w in self._words[self._returned : upto])
        self._returned = upto
        if self._latency_s > 0:
            await asyncio.sleep(self._latency_s)
        return Recognition(text, language="en-US", confidence=1.0)

    def discard_turn(self) -> None:
        self._reanchor()
        self._returned = max(self._returned, self._words_to(self._heard))

    async def aclose(self) -> None:
        self._closed = True


class ScriptedSpeechToText:
    name = "scripted-stt"

    def __init__(self, script: Script, latency_ms: float, partial_lag_ms: float) -> None:
        self._script = script
        self._latency_ms = latency_ms
        self._lag_ms = partial_lag_ms

    async def open_session(self, config: SttConfig) -> ScriptedSttSession:
        return ScriptedSttSession(self._script, config, self._latency_ms, self._lag_ms)

    async def prepare(self, phrases: Sequence[str]) -> None:
        return None


def load_script(path: Path) -> Script:
    raw = json.loads(path.read_text())
    return [[(str(text), int(frames)) for text, frames in utterance] for utterance in raw]


def scripted_provider_factory(
    latencies: FakeLatencies, script: Script, partial_lag_ms: float
) -> ProviderFactory:
    """The fixed-latency fakes with a scripted recogniser and a short reply (a turn takes seconds, not ten)."""

    def build(settings: Settings) -> ProviderSet:
        return ProviderSet(
            cascade=CascadeProviders(
                stt=ScriptedSpeechToText(script, latencies.stt_final_ms, partial_lag_ms),
                tts=FakeTextToSpeech(latencies.tts_first_audio_ms),
                llm=FakeChatModel(latencies.llm_first_token_ms, latencies.llm_token_ms, reply=SHORT_REPLY),
            ),
            embedded_tts=None,
            local_brain=None,
        )

    return build
