"""Semantic turn detection for the realtime server: the cascade's end-of-turn policy behind the services' knobs.

`semantic_vad` (OpenAI) and `azure_semantic_vad*` (Azure VoiceLive) end a caller's turn on what was said,
not on a fixed silence. Here that is the cascade's semantic mode (`voice.audio.turn_end`): the end-of-turn
model (shared, batched, off the loop) and the recogniser's partial words judge each pause; a turn judged
complete ends after `min_silence_ms`, an unsure one after `silence_ms`, one that sounds unfinished after
`silence_ms + hold_ms`. How the services' settings map onto those three:

- `semantic_vad`: `eagerness` picks them (high ends sooner, low waits longer; auto is medium);
- `azure_semantic_vad*`: `silence_duration_ms` is the unsure wait (default 500 ms, as for server VAD), and
  `end_of_utterance_detection.timeout_ms`, when given, the longest wait (an unfinished turn).

`server_vad` is untouched: its fixed silence alone ends the turn (`input_audio.turn_policy`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from apps.realtime_server.protocol import TurnDetection

MIN_SILENCE_MS = 200
"""The pause that ends a turn judged complete. Shorter than the cascade's TURN_END_MIN_SILENCE_MS (300): here a
caller who goes on within the first 200 ms of the reply is merged into one turn (the VoiceLive orchestrator's
continuation), while the cascade merges only a reply not heard at all."""
UNFINISHED_HOLD_MS = 700
"""Extra wait for a turn that sounds unfinished (the agents' `speech.unfinished_hold_ms` default)."""


@dataclass(frozen=True, slots=True)
class SemanticTiming:
    min_silence_ms: int
    silence_ms: int
    hold_ms: int


_EAGERNESS = {
    "high": SemanticTiming(min_silence_ms=160, silence_ms=400, hold_ms=500),
    "medium": SemanticTiming(min_silence_ms=MIN_SILENCE_MS, silence_ms=600, hold_ms=UNFINISHED_HOLD_MS),
    "low": SemanticTiming(min_silence_ms=400, silence_ms=1000, hold_ms=1000),
}


def semantic_timing(detection: TurnDetection, default_silence_ms: int) -> SemanticTiming:
    """The three pauses of a semantic `detection` (which must be semantic)."""
    if detection.type == "semantic_vad":
        return _EAGERNESS.get(detection.eagerness or "auto", _EAGERNESS["medium"])
    silence = default_silence_ms if detection.silence_duration_ms is None else detection.silence_duration_ms
    eou = detection.end_of_utterance_detection
    hold = UNFINISHED_HOLD_MS
    if eou is not None and eou.timeout_ms is not None:
        hold = max(0, eou.timeout_ms - silence)
    return SemanticTiming(min_silence_ms=min(MIN_SILENCE_MS, silence), silence_ms=silence, hold_ms=hold)


_FILLERS = re.compile(r"(?<![\w'])(?:um+|uh+|erm|er|hmm+|mm+|ah+)(?![\w'])[,.]?\s*", re.IGNORECASE)


def remove_fillers(text: str) -> str:
    """`remove_filler_words`: "um, my account uh ends in" -> "my account ends in"."""
    return re.sub(r"\s{2,}", " ", _FILLERS.sub("", text)).strip()
