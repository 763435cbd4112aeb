"""The caller's loudspeaker: agent audio is queued as it arrives and played out one 20 ms frame per tick.

Like ACS, audio sent faster than real time is buffered and heard in real time, and StopAudio drops whatever
is still queued. The recording is what the caller heard, aligned to the media clock (silence included).
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from apps.acs_simulator.media_messages import frame_bytes

VOICED_RMS = 50.0  # int16 RMS; about -56 dBFS, well under speech and well over digital silence


def frame_is_voiced(frame: bytes, threshold: float = VOICED_RMS) -> bool:
    samples = np.frombuffer(frame, dtype="<i2").astype(np.float32)
    if samples.size == 0:
        return False
    return float(np.sqrt(np.mean(samples * samples))) >= threshold


class AgentPlayout:
    def __init__(self, sample_rate: int, *, voiced_rms: float = VOICED_RMS) -> None:
        self.sample_rate = sample_rate
        self.frame_len = frame_bytes(sample_rate)
        self.voiced_rms = voiced_rms
        self._silence = bytes(self.frame_len)
        self._queue = bytearray()
        self.recording = bytearray()
        self.last_frame = self._silence
        self.audio_messages = 0
        self.received_bytes = 0
        self.stop_audio_count = 0
        self.dropped_bytes = 0

    def push(self, pcm: bytes) -> None:
        self.audio_messages += 1
        self.received_bytes += len(pcm)
        self._queue += pcm

    def stop_audio(self) -> int:
        """StopAudio: drop queued audio; returns how many bytes were dropped."""
        self.stop_audio_count += 1
        dropped = len(self._queue)
        self.dropped_bytes += dropped
        self._queue.clear()
        return dropped

    @property
    def queued_ms(self) -> float:
        return len(self._queue) / 2 / self.sample_rate * 1000.0

    def tick(self, *, to_caller: bool = True, held_audio: bytes | None = None) -> bool:
        """Play one frame (`last_frame`) into the recording; True when it carried agent speech. A caller on
        hold (`to_caller` False) does not hear it: their recording gets `held_audio` (the hold audio's frame)
        or silence."""
        heard_on_hold = held_audio if held_audio is not None else self._silence
        if not self._queue:
            self.recording += self._silence if to_caller else heard_on_hold
            self.last_frame = self._silence
            return False
        frame = bytes(self._queue[: self.frame_len])
        del self._queue[: self.frame_len]
        if len(frame) < self.frame_len:
            frame += bytes(self.frame_len - len(frame))
        self.recording += frame if to_caller else heard_on_hold
        self.last_frame = frame
        return frame_is_voiced(frame, self.voiced_rms)


def write_wav(path: Path, pcm: bytes, sample_rate: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm)
    return path
