"""Caller phrases with exact onsets: synthesized once, trimmed to their voiced part, written as WAV files.

The simulator marks `caller_speech_start` / `caller_speech_end` at the first and last frame of whatever audio
a PlayWav step plays. Leading or trailing near-silence would shift those marks away from the speech itself
and bias every latency measured from them, so each phrase is cut to the span between its first and last
voiced 10 ms window before it is written.

A phrase may pause mid-sentence ("My account ends in ... four eight two one."): its parts are synthesized and
trimmed separately and joined with that much digital silence, in one WAV, so the simulator still marks one
utterance. Each phrase also records its parts with their voiced 20 ms frames, for the benchmark's scripted
recogniser (`bench.turn_fakes`).
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
VOICED_RMS = 300.0  # int16 RMS of a 20 ms frame (about -40 dBFS): espeak words are far above, gaps below


@dataclass(frozen=True)
class Phrase:
    text: str
    path: Path
    duration_ms: float
    pauses_ms: tuple[int, ...] = ()
    """Mid-sentence pauses inside the phrase (none: one breath)."""
    parts: tuple[tuple[str, int], ...] = ()
    """(text, voiced 20 ms frames) of each part, in order."""

    @property
    def paused(self) -> bool:
        return bool(self.pauses_ms)


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


def voiced_frames(pcm: bytes, sample_rate: int, *, frame_ms: int = FRAME_MS) -> int:
    """How many whole `frame_ms` frames of PCM16 mono are voiced (RMS at or above VOICED_RMS)."""
    frame = sample_rate * frame_ms // 1000
    samples = np.frombuffer(pcm[: len(pcm) - len(pcm) % 2], dtype="<i2").astype(np.float64)
    count = samples.size // frame
    if count == 0:
        return 0
    rms = np.sqrt(np.mean(samples[: count * frame].reshape(count, frame) ** 2, axis=1))
    return int(np.count_nonzero(rms >= VOICED_RMS))


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


PAUSE = "..."
"""Marks a mid-sentence pause in a caller line: "My account ends in ... four eight two one."."""


def split_line(line: str) -> list[str]:
    """The parts of a caller line, split at its pauses."""
    return [part.strip() for part in line.split(PAUSE) if part.strip()]


async def _voiced(text: str, sample_rate: int) -> bytes:
    pcm = trim_to_voiced(await synthesize(text, sample_rate), sample_rate)
    if not pcm:
        raise RuntimeError(f"espeak produced no voiced audio for {text!r}")
    return pcm


async def make_phrase(
    text: str,
    directory: Path,
    *,
    name: str | None = None,
    sample_rate: int = SAMPLE_RATE,
    pause_ms: int = 0,
) -> Phrase:
    """Synthesize `text` with espeak (as the simulator's Say step would), trim it, write it as a WAV; at each
    `PAUSE` in the text the caller stops for `pause_ms` (a whole number of 20 ms frames)."""
    parts = split_line(text)
    pcms = [await _voiced(part, sample_rate) for part in parts]
    gap_frames = -(-pause_ms // FRAME_MS)
    gap = bytes(sample_rate * 2 * FRAME_MS // 1000 * gap_frames)
    frame = sample_rate * 2 * FRAME_MS // 1000
    padded = [p + bytes(-len(p) % frame) for p in pcms[:-1]] + pcms[-1:]  # gaps start on a frame edge
    pcm = gap.join(padded)
    path = write_wav(directory / f"{name or slug(text)}.wav", pcm, sample_rate)
    return Phrase(
        text=text,
        path=path,
        duration_ms=len(pcm) / 2 / sample_rate * 1000,
        pauses_ms=(gap_frames * FRAME_MS,) * (len(parts) - 1),
        parts=tuple((part, voiced_frames(p, sample_rate)) for part, p in zip(parts, padded, strict=True)),
    )


async def make_phrases(texts: list[str], directory: Path, *, pause_ms: int = 0) -> list[Phrase]:
    """One Phrase per distinct text, in order (repeated texts share a file)."""
    made: dict[str, Phrase] = {}
    for text in texts:
        if text not in made:
            made[text] = await make_phrase(
                text, directory, name=f"{len(made):02d}-{slug(text)}", pause_ms=pause_ms
            )
    return [made[text] for text in texts]
