"""The cross-call VAD batcher gives every call the probabilities it would get on its own, in fewer model runs."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from tests.unit.audio.signals import sine, to_pcm16, white_noise
from voice.audio.vad import VadStream, get_shared_model
from voice.audio.vad_batcher import VadBatcher

FRAME = 640  # 20 ms at 16 kHz, as ACS sends it


async def _feed(batcher: VadBatcher, pcm: bytes, chunk: int = FRAME) -> list[float]:
    """One call: 20 ms frames (or `chunk` bytes at a time, a call behind) in real order, awaiting each one's
    probabilities like MediaSession does."""
    stream = batcher.stream(input_rate=16000)
    probabilities: list[float] = []
    for start in range(0, len(pcm) - chunk + 1, chunk):
        stream.append(pcm[start : start + chunk])
        probabilities += await batcher.probabilities(stream)
    return probabilities


@pytest.mark.parametrize("model_rate", [8000, 16000])
async def test_concurrent_calls_get_their_own_probabilities_from_shared_runs(
    speech_16k: bytes, model_rate: int
) -> None:
    signals = [speech_16k, to_pcm16(white_noise(16000, 3.4)), to_pcm16(sine(440.0, 16000, 3.4)), speech_16k]
    alone = [VadStream(model_rate=model_rate).push(pcm[: len(pcm) - len(pcm) % FRAME]) for pcm in signals]
    expected = [np.array(probabilities) for probabilities in alone]
    batcher = VadBatcher(get_shared_model(), sample_rate=model_rate, max_wait_s=0.002, silence_floor=0.0)
    got = await asyncio.gather(*(_feed(batcher, pcm) for pcm in signals))
    for probabilities, want in zip(got, expected, strict=True):
        assert len(probabilities) == len(want) > 90
        np.testing.assert_allclose(probabilities, want, atol=1e-4)
    # Four calls' windows went through the model together, not one run each.
    assert batcher.batches_run < batcher.windows_run / 2


async def test_streams_take_the_batchers_rate_and_one_at_another_is_refused() -> None:
    batcher = VadBatcher(get_shared_model(), sample_rate=8000)
    assert batcher.accepts(8000) and batcher.accepts(16000) and not batcher.accepts(24000)
    assert batcher.stream(input_rate=16000).format.sample_rate == 8000
    wide = VadStream(batcher.model, model_rate=16000)
    wide.append(b"\x00\x10" * 512)  # loud enough to need the model
    with pytest.raises(ValueError, match="a 16000 Hz stream in a 8000 Hz batcher"):
        await batcher.probabilities(wide)


async def test_digital_silence_skips_the_model() -> None:
    batcher = VadBatcher(get_shared_model())
    probabilities = await _feed(batcher, bytes(16000 * 2))  # one second of zeros
    assert probabilities == [0.0] * 31
    assert batcher.windows_run == 0 and batcher.windows_skipped == 31


async def test_speech_after_digital_silence_starts_from_a_clean_state(speech_16k: bytes) -> None:
    # Without the reset, the model's memory of the first utterance would colour the second one's start.
    batcher = VadBatcher(get_shared_model())
    utterance = speech_16k[: 40 * FRAME]
    first = await _feed(batcher, utterance + bytes(24 * FRAME) + utterance)  # whole windows: 25, 15, 25
    fresh = await _feed(batcher, utterance)
    second = first[-len(fresh) :]
    np.testing.assert_allclose(second, fresh, atol=1e-4)


async def test_a_call_that_hangs_up_while_waiting_does_not_disturb_the_others(speech_16k: bytes) -> None:
    batcher = VadBatcher(get_shared_model(), max_wait_s=0.05)
    leaving, staying = batcher.stream(16000), batcher.stream(16000)
    leaving.append(speech_16k[: 4 * FRAME])
    staying.append(speech_16k[: 4 * FRAME])
    cancelled = asyncio.create_task(batcher.probabilities(leaving))
    kept = asyncio.create_task(batcher.probabilities(staying))
    await asyncio.sleep(0)
    cancelled.cancel()
    assert len(await kept) == 2  # 80 ms = two whole 32 ms windows
    assert cancelled.cancelled()


async def test_digital_silence_is_settled_without_waiting_for_a_batch() -> None:
    # A long wait would hold every silent frame 10 s if silence went through the batch timer.
    batcher = VadBatcher(get_shared_model(), max_wait_s=10.0)
    stream = VadStream(batcher.model)
    stream.append(bytes(4 * FRAME))  # two whole windows of zeros
    probabilities = await asyncio.wait_for(batcher.probabilities(stream), 1.0)
    assert probabilities == [0.0, 0.0]
    assert batcher.batches_run == 0 and batcher.windows_skipped == 2 and stream.ready_windows == 0


async def test_batched_probabilities_equal_each_stream_on_its_own_through_quiet_and_silent_stretches(
    speech_16k: bytes,
) -> None:
    """Digital silence, noise under the floor and speech, fed in different chunk sizes by calls sharing
    runs: each call gets exactly what its stream alone gives with the same quiet rule."""
    rng = np.random.default_rng(5)
    under_floor = (rng.standard_normal(16000) * 20).astype("<i2").tobytes()  # ~ -64 dBFS peaks, not zero
    zeros = bytes(16000)
    signals = [
        speech_16k + zeros + speech_16k,
        under_floor + speech_16k + zeros + under_floor + speech_16k,
        zeros + to_pcm16(sine(440.0, 16000, 1.0)) + zeros + under_floor,
    ]
    chunks = [FRAME, 2 * FRAME, 4 * FRAME]
    batcher = VadBatcher(get_shared_model(), max_wait_s=0.0)

    got = await asyncio.gather(
        *(_feed(batcher, pcm, chunk) for pcm, chunk in zip(signals, chunks, strict=True))
    )

    for probabilities, pcm, chunk in zip(got, signals, chunks, strict=True):
        alone = VadStream()  # the same rule by hand: quiet windows score 0 and reset the state
        want: list[float] = []
        whole = len(pcm) - len(pcm) % chunk
        alone.append(pcm[:whole])
        while alone.ready_windows:
            if alone.next_window_peak() < 0.0015:
                alone.skip_window()
                alone.state = alone.state * 0
                want.append(0.0)
                continue
            row = alone.take_window()
            prob, alone.state = batcher.model.infer(row[None, :], np.ascontiguousarray(alone.state))
            want.append(float(prob[0]))
        assert len(probabilities) == len(want) > 60
        assert 0.0 < sum(p == 0.0 for p in want) < len(want)  # both rules were exercised
        np.testing.assert_allclose(probabilities, want, atol=1e-5)
    assert batcher.windows_skipped > 0 and batcher.batches_run < batcher.windows_run
