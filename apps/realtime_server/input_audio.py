"""A session's input audio: decoding appends, the input clock, turn detection and the current turn's audio.

Audio is kept at 16 kHz (what the VAD and the recogniser take). With turn detection on, Silero VAD scores
each 32 ms window through the process-wide `VadBatcher` and a `TurnTracker` decides when the caller
started and stopped; between turns only the last `prefix_padding_ms` (+ the onset detection lag) is kept,
so the recogniser hears the first syllable. With turn detection off everything since the last commit is
kept, up to a bound.

Semantic turn detection (`semantic_vad`, `azure_semantic_vad*`) ends a turn as the cascade does
(`end_of_turn.py`): each pause within a turn is judged by the end-of-turn model (the engine's shared batcher,
off the loop) and the recogniser's partial words (`heard`), and the verdict picks how long it must last.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Callable
from dataclasses import dataclass

from apps.realtime_server.end_of_turn import semantic_timing
from apps.realtime_server.protocol import ProtocolError, RealtimeSessionConfig, TurnDetection
from voice.audio.codecs import alaw_decode, mulaw_decode
from voice.audio.resample import StreamResampler
from voice.audio.turn_batcher import TurnScorer
from voice.audio.turn_end import ScoreThresholds
from voice.audio.turns import (
    TurnEnded,
    TurnEvent,
    TurnPaused,
    TurnPolicy,
    TurnResumed,
    TurnStarted,
    TurnTracker,
)
from voice.audio.vad import VadStream
from voice.audio.vad_batcher import VadBatcher
from voice.speech_cascade.turn_judge import TurnJudge
from voice.speech_cascade.unfinished import sounds_clearly_unfinished, sounds_complete, sounds_unfinished

log = logging.getLogger(__name__)

PARTIALS_ONLY_THRESHOLDS = ScoreThresholds(fragment_complete_at=0.9)
"""Here the words are the recogniser's partials alone (the cascade also reads an early final pass before a turn
can end), and a partial ending on a word like "the" may be a fragment or a sentence left open: the embedded one
read "my account ends in ..." as "my account and the" at the caller's pause, the model scored that 0.57 on a
synthetic voice, and the turn ended mid-sentence. With such words the model must be confident to end the turn
at `min_silence_ms`; otherwise the unsure wait decides. 0.9 is the tier `bench/turn_tiers.py` found best at
telling line ends from pauses inside lines."""

RATE = 16000
MAX_APPEND_BYTES = 15 * 1024 * 1024  # decoded audio per append event, like the hosted services' limit
MAX_TURN_MS = 5 * 60 * 1000
DEFAULT_SILENCE_MS = 500
DEFAULT_PREFIX_MS = 300
ONSET_LAG_MS = 200  # VAD needs ~96 ms of speech (+ batching) before it reports the onset


@dataclass(frozen=True, slots=True)
class SpeechStart:
    at_ms: int


@dataclass(frozen=True, slots=True)
class SpeechStop:
    at_ms: int


InputEvent = SpeechStart | SpeechStop


def turn_policy(detection: TurnDetection) -> TurnPolicy:
    """`threshold` is the VAD probability bar for speech onset; barge-in is the session's business (it
    cancels a response on speech start), so the tracker's own barge-in logic stays off."""
    onset = min(max(detection.threshold if detection.threshold is not None else 0.5, 0.05), 1.0)
    if detection.semantic:
        timing = semantic_timing(detection, DEFAULT_SILENCE_MS)
        return TurnPolicy(
            end_of_turn_silence_ms=timing.silence_ms,
            barge_in=False,
            onset_threshold=onset,
            mode="semantic",
            min_silence_ms=timing.min_silence_ms,
            unfinished_hold_ms=timing.hold_ms,
            speculate_after_ms=0,  # the response starts at the turn end; nothing is started unheard
        )
    silence = detection.silence_duration_ms
    return TurnPolicy(
        end_of_turn_silence_ms=DEFAULT_SILENCE_MS if silence is None else silence,
        barge_in=False,
        onset_threshold=onset,
    )


class InputAudio:
    def __init__(
        self, vad: VadBatcher, config: RealtimeSessionConfig, scorer: TurnScorer | None = None
    ) -> None:
        self._vad_batcher = vad
        self._words = ""
        self.judge = TurnJudge(
            scorer,
            words_unfinished=lambda: sounds_clearly_unfinished(self._words),
            words_complete=lambda: sounds_complete(self._words),
            words_maybe_unfinished=lambda: sounds_unfinished(self._words),
            thresholds=PARTIALS_ONLY_THRESHOLDS,
        )
        """Semantic detection: judges the pauses of the caller's turn (model score and words)."""
        self._vad: VadStream = vad.stream(input_rate=RATE)
        self._format = config.input_audio_format
        self._rate = config.input_rate
        self._to_16k = StreamResampler(self._rate, RATE)
        self._tracker: TurnTracker | None = None
        self._tracker_offset_ms = 0
        self._prefix_ms = DEFAULT_PREFIX_MS
        self.input_ms = 0.0
        """The session's input-audio clock: ms of audio appended so far."""
        self._turn = bytearray()
        self.live_sink: Callable[[bytes], None] | None = None
        """While set, every new 16 kHz chunk is also handed to it (the recogniser, during a turn)."""
        self.configure(config)

    @property
    def detecting(self) -> bool:
        return self._tracker is not None

    @property
    def in_speech(self) -> bool:
        """The caller holds the floor (in semantic mode, a pause not yet judged the turn's end included)."""
        return self._tracker is not None and self._tracker.turn_open

    def heard(self, words: str) -> None:
        """The recogniser's partial text of the caller's current turn (the words signal)."""
        self._words = words

    def configure(self, config: RealtimeSessionConfig) -> None:
        if (config.input_audio_format, config.input_rate) != (self._format, self._rate):
            self._format, self._rate = config.input_audio_format, config.input_rate
            self._to_16k = StreamResampler(self._rate, RATE)
        detection = config.turn_detection
        if detection is None:
            self._tracker = None
            return
        self._prefix_ms = (
            DEFAULT_PREFIX_MS if detection.prefix_padding_ms is None else detection.prefix_padding_ms
        )
        policy = turn_policy(detection)
        if self._tracker is None or self._tracker.policy.mode != policy.mode:
            self._tracker = self._new_tracker(policy)
            self._tracker_offset_ms = self._vad_clock_ms()
        else:
            self._tracker.set_policy(policy)

    def _new_tracker(self, policy: TurnPolicy) -> TurnTracker:
        tracker = TurnTracker(policy)
        if policy.semantic:
            tracker.judge = self.judge.verdict
        return tracker

    def _vad_clock_ms(self) -> int:
        return int(self.input_ms) // 32 * 32

    # --- appends -------------------------------------------------------------------------------------------
    def decode(self, audio_b64: str) -> bytes:
        """base64 audio of the session's input format -> PCM16 at the input rate."""
        if len(audio_b64) > MAX_APPEND_BYTES * 4 // 3 + 4:
            raise ProtocolError(
                "audio_too_large", f"an append carries at most {MAX_APPEND_BYTES} bytes", param="audio"
            )
        try:
            raw = base64.b64decode(audio_b64, validate=True)
        except (binascii.Error, ValueError):
            raise ProtocolError("invalid_audio", "audio is not valid base64", param="audio") from None
        if self._format == "g711_ulaw":
            return mulaw_decode(raw)
        if self._format == "g711_alaw":
            return alaw_decode(raw)
        if len(raw) % 2:
            raise ProtocolError(
                "invalid_audio", "pcm16 audio must have an even number of bytes", param="audio"
            )
        return raw

    async def feed(self, pcm: bytes) -> list[InputEvent]:
        """Add decoded audio; returns the speech starts/stops it completed (times on the input clock)."""
        self.input_ms += len(pcm) * 1000 / (2 * self._rate)
        audio = self._to_16k.process(pcm)
        self._turn += audio
        if self.live_sink is not None and audio:
            self.live_sink(audio)
        tracker = self._tracker
        if tracker is None:
            self._bound(MAX_TURN_MS)
            return []
        events: list[InputEvent] = []
        if audio:
            semantic = tracker.policy.semantic
            if semantic:
                self.judge.hear(audio)
            self._vad.append(audio)
            for probability in await self._vad_batcher.probabilities(self._vad):
                for event in tracker.update(probability, agent_active=False):
                    if semantic:
                        self._judge_event(event)
                    if isinstance(event, TurnStarted):
                        events.append(SpeechStart(self._tracker_offset_ms + event.at_ms))
                    elif isinstance(event, TurnEnded):
                        events.append(SpeechStop(self._tracker_offset_ms + event.at_ms))
        if not tracker.turn_open and not any(isinstance(e, SpeechStop) for e in events):
            self._bound(self._prefix_ms + ONSET_LAG_MS)
        else:
            self._bound(MAX_TURN_MS)
        return events

    def _judge_event(self, event: TurnEvent) -> None:
        if isinstance(event, TurnStarted):
            self._words = ""
            self.judge.turn_started()
        elif isinstance(event, TurnPaused):
            self.judge.paused()  # scores the turn so far in the background; later windows read the score
        elif isinstance(event, TurnResumed):
            self.judge.resumed()
        elif isinstance(event, TurnEnded):
            self.judge.turn_ended()

    def _bound(self, keep_ms: int) -> None:
        keep = RATE * 2 * keep_ms // 1000
        if len(self._turn) > keep:
            del self._turn[: len(self._turn) - keep]

    # --- turns ---------------------------------------------------------------------------------------------
    def turn_audio(self) -> bytes:
        return bytes(self._turn)

    def take_turn_audio(self) -> bytes:
        audio = bytes(self._turn)
        self._turn.clear()
        return audio

    def clear(self) -> None:
        """Forget buffered audio and any speech in progress (`input_audio_buffer.clear`)."""
        self._turn.clear()
        self.live_sink = None
        self._to_16k.reset()
        self._words = ""
        self.judge.turn_ended()
        if self._tracker is not None:
            self._vad.reset()
            self._tracker = self._new_tracker(self._tracker.policy)
            self._tracker_offset_ms = self._vad_clock_ms()

    async def aclose(self) -> None:
        await self.judge.aclose()
