"""Caller phrases with exact onsets: synthesized once, trimmed to their voiced part, written as WAV files.

The simulator marks `caller_speech_start` / `caller_speech_end` at the first and last frame of whatever audio
a PlayWav step plays. Leading or trailing near-silence would shift those marks away from the speech itself
and bias every latency measured from them, so each phrase is cut to the span between its first and last
voiced 10 ms window before it is written.
"""

from __future__ import annotations

import re
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from apps.acs_simulator.caller_audio import synthesize

SAMPLE_RATE = 16000  # the backend's default media format (pcm16k); load_wav resamples for pcm24k calls
WINDOW_MS = 10
RELATIVE_FLOOR_DB = -40.0  # a window is voiced within 40 dB of the phrase's loudest window...
ABSOLUTE_FLOOR_RMS = 64.0  # ...and above this int16 RMS (about -54 dBFS), whatever the phrase's level
FRAME_MS = 20


@dataclass(frozen=True)
class Phrase:
    text: str
    path: Path
    duration_ms: float


def voiced_span(pcm: bytes, sample_rate: int, *, window_ms: int = WINDOW_MS) -> tuple[int, int] | None:
    """(first, last + 1) sample index of the voiced part of PCM16 mono, or None when nothing is voiced.

    Windows are `window_ms` long; a window is voiced when its RMS is within RELATIVE_FLOOR_DB of the loudest
    window and above ABSOLUTE_FLOOR_RMS.
    """
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    window = max(1, sample_rate * window_ms // 1000)
    count = -(-samples.size // window)
    if count == 0:
        return None
    padded = np.zeros(count * window)
    padded[: samples.size] = samples
    rms = np.sqrt(np.mean(padded.reshape(count, window) ** 2, axis=1))
    floor = max(ABSOLUTE_FLOOR_RMS, float(rms.max()) * 10 ** (RELATIVE_FLOOR_DB / 20))
    voiced = np.flatnonzero(rms >= floor)
    if voiced.size == 0:
        return None
    return int(voiced[0]) * window, min(samples.size, (int(voiced[-1]) + 1) * window)


def trim_to_voiced(pcm: bytes, sample_rate: int, *, frame_ms: int = FRAME_MS) -> bytes:
    """The voiced span, extended at its end to a whole number of `frame_ms` frames.

    The simulator pads the last frame with zeros anyway; extending with the phrase's own decay instead keeps
    `caller_speech_end` on the last voiced frame rather than on padding after a cut-off word.
    """
    span = voiced_span(pcm, sample_rate)
    if span is None:
        return b""
    start, end = span
    frame = sample_rate * frame_ms // 1000
    total = len(pcm) // 2
    end = min(total, start + -(-(end - start) // frame) * frame)
    return pcm[start * 2 : end * 2]


def write_wav(path: Path, pcm: bytes, sample_rate: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm)
    return path


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:48] or "phrase"


async def make_phrase(
    text: str, directory: Path, *, name: str | None = None, sample_rate: int = SAMPLE_RATE
) -> Phrase:
    """Synthesize `text` with espeak (as the simulator's Say step would), trim it, write it as a WAV."""
    pcm = trim_to_voiced(await synthesize(text, sample_rate), sample_rate)
    if not pcm:
        raise RuntimeError(f"espeak produced no voiced audio for {text!r}")
    path = write_wav(directory / f"{name or slug(text)}.wav", pcm, sample_rate)
    return Phrase(text=text, path=path, duration_ms=len(pcm) / 2 / sample_rate * 1000)


async def make_phrases(texts: list[str], directory: Path) -> list[Phrase]:
    """One Phrase per distinct text, in order (repeated texts share a file)."""
    made: dict[str, Phrase] = {}
    for text in texts:
        if text not in made:
            made[text] = await make_phrase(text, directory, name=f"{len(made):02d}-{slug(text)}")
    return [made[text] for text in texts]
