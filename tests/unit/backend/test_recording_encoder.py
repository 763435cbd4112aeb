"""The recording encoder: positioned caller and agent audio become one stereo Ogg Opus file on one timeline,
and a cut erases agent audio that was queued but never heard."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from apps.backend.recordings.encoder import OggOpusRecordingEncoder

RATE = 16000


def tone(seconds: float, hz: float) -> bytes:
    t = np.arange(int(seconds * RATE)) / RATE
    return (np.sin(2 * np.pi * hz * t) * 8000).astype(np.int16).tobytes()


def level(samples: np.ndarray, rate: int, start: float, end: float) -> float:
    window = samples[int(start * rate) : int(end * rate)]
    return float(np.sqrt(np.mean(np.square(window))))


def test_stereo_file_on_the_call_timeline_with_the_cut_agent_audio_gone(tmp_path: Path) -> None:
    path = tmp_path / "call.ogg"
    encoder = OggOpusRecordingEncoder(path, sample_rate=RATE, with_agent=True)
    caller = tone(4.0, 300)
    for offset in range(0, len(caller), 640):  # 20 ms frames, as a call delivers them
        encoder.caller(offset // 2, caller[offset : offset + 640])
        if offset // 2 == RATE:  # at 1 s the agent queues 2 s of speech from 1.5 s...
            encoder.agent(int(1.5 * RATE), tone(2.0, 500))
        if offset // 2 == 2 * RATE:  # ...and at 2 s the caller cuts it off
            encoder.agent_cut(2 * RATE)
    duration = encoder.finish()
    assert abs(duration - 4.0) < 0.03

    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        assert stream.codec_context.layout.nb_channels == 2
        rate = stream.codec_context.sample_rate
        decoded = np.concatenate([frame.to_ndarray() for frame in container.decode(stream)], axis=1)
    left, right = decoded[0], decoded[1]
    assert abs(len(left) / rate - 4.0) < 0.05
    assert level(left, rate, 0.5, 3.5) > 0.1
    assert level(right, rate, 0.2, 1.4) < 0.01  # before the agent spoke
    assert level(right, rate, 1.6, 1.95) > 0.1  # heard
    assert level(right, rate, 2.1, 3.9) < 0.01  # cut: never heard, so not in the recording
