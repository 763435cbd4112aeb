"""Framing cuts any byte stream into whole 20 ms frames without losing or reordering audio."""

from __future__ import annotations

import pytest

from tests.unit.audio.signals import sine, to_pcm16
from voice.audio.framing import FRAME_MS, PcmFramer, frame_size_bytes, silence, split_frames


@pytest.mark.parametrize(("rate", "size"), [(8000, 320), (16000, 640), (22050, 882), (24000, 960)])
def test_frame_size_for_20ms_pcm16_mono(rate: int, size: int) -> None:
    assert FRAME_MS == 20
    assert frame_size_bytes(rate) == size


def test_frame_size_for_other_durations_and_impossible_ones() -> None:
    assert frame_size_bytes(16000, ms=32) == 1024
    with pytest.raises(ValueError):
        frame_size_bytes(11025, ms=10)  # 110.25 samples


def test_push_returns_whole_frames_and_keeps_the_remainder() -> None:
    framer = PcmFramer(640)
    assert framer.push(bytes(500)) == []
    assert framer.pending_bytes == 500
    frames = framer.push(bytes(1000))
    assert [len(f) for f in frames] == [640, 640]
    assert framer.pending_bytes == 220


def test_frames_preserve_the_byte_stream_in_order() -> None:
    audio = to_pcm16(sine(440.0, 16000, 0.5))  # 16000 bytes: 25 frames exactly
    framer = PcmFramer(640)
    frames: list[bytes] = []
    for start in range(0, len(audio), 333):  # odd-sized pieces, even splitting samples
        frames += framer.push(audio[start : start + 333])
    assert b"".join(frames) == audio
    assert framer.flush() is None


def test_an_exact_frame_passes_through_when_nothing_is_pending() -> None:
    frame = to_pcm16(sine(440.0, 16000, 0.02))
    assert PcmFramer(640).push(frame)[0] is frame


def test_frames_are_independent_of_later_pushes() -> None:
    framer = PcmFramer(4)
    framer.push(b"ab")
    (frame,) = framer.push(bytearray(b"cdef"))
    framer.push(b"ghij")
    assert frame == b"abcd"
    assert isinstance(frame, bytes)


def test_flush_pads_the_tail_with_silence_or_returns_it_raw() -> None:
    framer = PcmFramer(640)
    framer.push(b"\x01\x02" * 100)
    tail = framer.flush()
    assert tail == b"\x01\x02" * 100 + bytes(440)
    assert framer.pending_bytes == 0
    assert framer.flush() is None

    framer.push(b"\x01\x02" * 3)
    assert framer.flush(pad=False) == b"\x01\x02" * 3


def test_clear_drops_pending_audio() -> None:
    framer = PcmFramer(640)
    framer.push(bytes(100))
    framer.clear()
    assert framer.pending_bytes == 0
    assert framer.flush() is None


def test_split_frames_pads_or_keeps_a_short_last_frame() -> None:
    audio = bytes(range(200)) * 7  # 1400 bytes
    padded = split_frames(audio, 640)
    assert [len(f) for f in padded] == [640, 640, 640]
    assert b"".join(padded)[: len(audio)] == audio
    assert [len(f) for f in split_frames(audio, 640, pad=False)] == [640, 640, 120]
    assert split_frames(b"", 640) == []


def test_silence_is_a_cached_zero_frame() -> None:
    assert silence(960) == bytes(960)
    assert silence(960) is silence(960)


def test_frame_size_must_be_whole_samples() -> None:
    with pytest.raises(ValueError):
        PcmFramer(641)
    with pytest.raises(ValueError):
        PcmFramer(0)
