"""Encodes one call's recording as Opus in Ogg (PyAV): the caller on the left, the agent on the right.

Runs on the recording worker's thread, never on the event loop. Audio arrives as positioned PCM16 mono pieces
per channel; the encoder keeps only what may still change (the agent's last few frames can be cut by a
StopAudio) and encodes everything older, so a long call holds seconds, not minutes, of raw audio.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

OPUS_BITRATE = 32000
HOLD_BACK_S = 0.5
"""Raw audio kept unencoded behind the caller's latest sample: agent audio queued ahead of it may be cut."""
ENCODE_EVERY_S = 1.0


class _Track:
    """One channel's samples from `base` on (earlier ones are encoded already)."""

    def __init__(self) -> None:
        self.samples = np.zeros(0, dtype=np.int16)

    def write(self, offset: int, pcm: np.ndarray) -> None:
        if offset < 0:  # partly before what is encoded already: keep the rest
            pcm = pcm[-offset:]
            offset = 0
        end = offset + len(pcm)
        if end > len(self.samples):
            self.samples = np.concatenate([self.samples, np.zeros(end - len(self.samples), dtype=np.int16)])
        self.samples[offset:end] = pcm

    def truncate(self, offset: int) -> None:
        if 0 <= offset < len(self.samples):
            self.samples = self.samples[:offset]

    def take(self, count: int) -> np.ndarray:
        out = np.zeros(count, dtype=np.int16)
        have = min(count, len(self.samples))
        out[:have] = self.samples[:have]
        self.samples = self.samples[have:]
        return out


class OggOpusRecordingEncoder:
    """Stereo (caller, agent) or mono (caller only) Opus in Ogg, written to `path` as audio arrives."""

    def __init__(self, path: Path, *, sample_rate: int, with_agent: bool) -> None:
        self.path = path
        self._rate = sample_rate
        self._with_agent = with_agent
        import av  # PyAV (~75 ms to import): on the recording worker's thread, not at service start-up

        self._container = av.open(str(path), "w", format="ogg")
        self._stream = self._container.add_stream(
            "libopus", rate=sample_rate, layout="stereo" if with_agent else "mono"
        )
        self._stream.codec_context.bit_rate = OPUS_BITRATE
        self._base = 0  # samples encoded so far (the timeline position of both tracks' first sample)
        self._caller = _Track()
        self._agent = _Track()
        self._caller_end = 0

    def caller(self, position: int, pcm: bytes) -> None:
        self._caller.write(position - self._base, np.frombuffer(pcm, dtype=np.int16))
        self._caller_end = max(self._caller_end, position + len(pcm) // 2)
        if self._caller_end - self._base > (HOLD_BACK_S + ENCODE_EVERY_S) * self._rate:
            self._encode_until(self._caller_end - int(HOLD_BACK_S * self._rate))

    def agent(self, position: int, pcm: bytes) -> None:
        if self._with_agent:
            self._agent.write(position - self._base, np.frombuffer(pcm, dtype=np.int16))

    def agent_cut(self, position: int) -> None:
        self._agent.truncate(position - self._base)

    def finish(self) -> float:
        """Encode the rest and close the file. Returns the recording's duration in seconds."""
        end = self._base + max(len(self._caller.samples), len(self._agent.samples))
        self._encode_until(end)
        for packet in self._stream.encode(None):
            self._container.mux(packet)
        self._container.close()
        return self._base / self._rate

    def abort(self) -> None:
        self._container.close()

    def _encode_until(self, position: int) -> None:
        count = position - self._base
        if count <= 0:
            return
        caller = self._caller.take(count)
        import av  # already imported by __init__

        if self._with_agent:
            samples = np.column_stack([caller, self._agent.take(count)]).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="stereo")
        else:
            frame = av.AudioFrame.from_ndarray(caller.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = self._rate
        self._base = position
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
