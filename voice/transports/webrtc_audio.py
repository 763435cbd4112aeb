"""Audio at the WebRTC edge: the browser's decoded Opus frames in, the agent's paced track out.

Inbound, aiortc's Opus decoder hands us PyAV frames at 48 kHz, s16, usually stereo, 20 ms each (but any size
and rate must work): `InboundAudio` downmixes to mono, resamples to the pipeline rate with one stateful
`StreamResampler` per stream (no clicks at frame boundaries) and re-frames into exact 20 ms PCM16 frames.

Outbound, aiortc pulls `AgentAudioTrack.recv()` whenever it wants the next packet; the track keeps its own
20 ms clock (pts counts samples at `sample_rate`) and returns silence when nothing is queued, so the RTP
timeline never stalls during pauses. The queue is bounded and `clear()` empties it at once (barge-in).
"""

from __future__ import annotations

import asyncio
import fractions
import time
from collections import deque
from collections.abc import Callable

import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame as AvAudioFrame

from voice.audio.resample import StreamResampler

FRAME_SECONDS = 0.020


def frame_bytes_at(sample_rate: int) -> int:
    """Bytes of one 20 ms PCM16 mono frame."""
    return sample_rate // 50 * 2


def mono_pcm16(frame: AvAudioFrame) -> bytes:
    """A decoded frame as PCM16 mono at its own rate (channels averaged). Only s16 / s16p frames are accepted,
    which is what aiortc's Opus and G.711 decoders produce."""
    if frame.format.name not in ("s16", "s16p"):
        raise ValueError(f"unsupported sample format {frame.format.name!r}")
    channels = len(frame.layout.channels)
    samples = frame.to_ndarray()  # packed: (1, samples * channels) interleaved; planar: (channels, samples)
    if channels == 1:
        return bytes(samples.astype("<i2", copy=False).tobytes())
    by_channel = samples.reshape(-1, channels).T if not frame.format.is_planar else samples
    mixed = by_channel.astype(np.int32).sum(axis=0) // channels
    return bytes(mixed.astype("<i2").tobytes())


class InboundAudio:
    """One remote track's frames -> 20 ms PCM16 mono frames at `out_rate`."""

    def __init__(self, out_rate: int) -> None:
        self.out_rate = out_rate
        self.frame_bytes = frame_bytes_at(out_rate)
        self._resampler: StreamResampler | None = None
        self._pending = bytearray()

    def push(self, frame: AvAudioFrame) -> list[bytes]:
        """The whole 20 ms frames now ready (possibly none: the resampler lags by a few ms)."""
        pcm = mono_pcm16(frame)
        if self._resampler is None or self._resampler.in_rate != frame.sample_rate:
            self._resampler = StreamResampler(frame.sample_rate, self.out_rate)  # a new stream at a new rate
        self._pending += self._resampler.process(pcm)
        ready = len(self._pending) - len(self._pending) % self.frame_bytes
        frames = [bytes(self._pending[i : i + self.frame_bytes]) for i in range(0, ready, self.frame_bytes)]
        del self._pending[:ready]
        return frames


class AgentAudioTrack(MediaStreamTrack):
    """The agent's voice as an aiortc audio track: PCM16 mono frames at `sample_rate`, paced by `recv()`.

    `PacedPlayout` already pushes frames in real time a few frames ahead, so the queue holds a handful of
    frames; `max_frames` bounds it anyway (the oldest frame is dropped and counted)."""

    kind = "audio"

    def __init__(
        self,
        *,
        sample_rate: int = 16000,
        max_frames: int = 50,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.sample_rate = sample_rate
        self.frame_bytes = frame_bytes_at(sample_rate)
        self.samples_per_frame = sample_rate // 50
        self.time_base = fractions.Fraction(1, sample_rate)
        self._queue: deque[bytes] = deque(maxlen=max_frames)
        self._clock = clock
        self._start: float | None = None
        self._pts = 0
        self.frames_dropped = 0
        self.frames_sent = 0
        """Frames of agent audio handed to aiortc (silence fill not counted)."""

    @property
    def queued(self) -> int:
        return len(self._queue)

    def push(self, pcm: bytes) -> None:
        if len(pcm) != self.frame_bytes:
            pcm = pcm[: self.frame_bytes].ljust(self.frame_bytes, b"\0")
        if len(self._queue) == self._queue.maxlen:
            self.frames_dropped += 1  # deque drops the oldest
        self._queue.append(pcm)

    def clear(self) -> int:
        """Drop every queued frame at once; returns how many were dropped."""
        dropped = len(self._queue)
        self._queue.clear()
        return dropped

    def next_frame(self) -> AvAudioFrame:
        """The frame for the current pts: queued agent audio, or silence. Advances pts by one frame."""
        pcm = self._queue.popleft() if self._queue else None
        if pcm is not None:
            self.frames_sent += 1
        frame = AvAudioFrame(format="s16", layout="mono", samples=self.samples_per_frame)
        frame.planes[0].update(pcm if pcm is not None else bytes(self.frame_bytes))
        frame.sample_rate = self.sample_rate
        frame.pts = self._pts
        frame.time_base = self.time_base
        self._pts += self.samples_per_frame
        return frame

    async def recv(self) -> AvAudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        # Frame k is due at start + k * 20 ms on the monotonic clock, so sleep jitter never accumulates.
        now = self._clock()
        if self._start is None:
            self._start = now
        due = self._start + self._pts / self.sample_rate
        if due > now:
            await asyncio.sleep(due - now)
        return self.next_frame()
