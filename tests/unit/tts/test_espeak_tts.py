"""The embedded espeak-ng TTS produces real, well-formed speech and streams it cancellably.

espeak-ng is not bit-reproducible (aspiration noise and pause lengths vary a little from one run to the
next, by up to ~10 ms), so repeated syntheses are compared by duration, not by bytes.
"""

from __future__ import annotations

import asyncio
import contextlib

import numpy as np
import pytest

from tests.unit.audio.signals import peak_frequency
from voice.audio.codecs import rms_dbfs
from voice.tts.base import TextToSpeech
from voice.tts.local import EspeakTts

GREETING = "Hello, thank you for calling."
LONG_TEXT = " ".join(
    f"This is sentence number {n} of a long answer that the caller will interrupt." for n in range(40)
)


def seconds(pcm: bytes, sample_rate: int) -> float:
    return len(pcm) / 2 / sample_rate


@pytest.fixture
def tts() -> EspeakTts:
    return EspeakTts()


def test_implements_the_tts_protocol(tts: EspeakTts) -> None:
    assert isinstance(tts, TextToSpeech)
    assert tts.name == "espeak-ng"


@pytest.mark.parametrize("sample_rate", [16000, 24000])
async def test_greeting_is_audible_speech_of_plausible_length(tts: EspeakTts, sample_rate: int) -> None:
    pcm = await tts.synthesize(GREETING, sample_rate=sample_rate)
    assert len(pcm) % 2 == 0
    assert 1.0 <= seconds(pcm, sample_rate) <= 3.0
    assert rms_dbfs(pcm) > -35.0
    # Voiced speech: its energy sits in the telephone band, not at DC or near Nyquist.
    spectrum_peak = peak_frequency(np.frombuffer(pcm, "<i2").astype(np.float64), sample_rate)
    assert 80.0 <= spectrum_peak <= 4000.0


async def test_output_rate_changes_sampling_not_duration(tts: EspeakTts) -> None:
    at_16k = await tts.synthesize(GREETING, sample_rate=16000)
    at_24k = await tts.synthesize(GREETING, sample_rate=24000)
    native = await tts.synthesize(GREETING, sample_rate=22050)
    assert seconds(at_24k, 24000) == pytest.approx(seconds(at_16k, 16000), abs=0.03)
    assert seconds(native, 22050) == pytest.approx(seconds(at_16k, 16000), abs=0.03)


async def test_longer_text_takes_longer_and_faster_rate_is_shorter() -> None:
    short = await EspeakTts().synthesize("Yes.", sample_rate=16000)
    long = await EspeakTts().synthesize(GREETING + " How can I help you today?", sample_rate=16000)
    fast = await EspeakTts(rate_wpm=300).synthesize(GREETING, sample_rate=16000)
    slow = await EspeakTts(rate_wpm=120).synthesize(GREETING, sample_rate=16000)
    assert seconds(short, 16000) < seconds(long, 16000)
    assert seconds(fast, 16000) < seconds(slow, 16000)


async def test_empty_text_is_silence_of_zero_length(tts: EspeakTts) -> None:
    assert await tts.synthesize("  ", sample_rate=16000) == b""
    assert [chunk async for chunk in tts.stream("", sample_rate=16000)] == []


async def test_stream_yields_several_chunks_that_add_up_to_the_whole(tts: EspeakTts) -> None:
    text = GREETING + " How can I help you today?"
    chunks = [chunk async for chunk in tts.stream(text, sample_rate=24000)]
    assert len(chunks) > 5
    assert all(chunk and len(chunk) % 2 == 0 for chunk in chunks)
    whole = await tts.synthesize(text, sample_rate=24000)
    assert seconds(b"".join(chunks), 24000) == pytest.approx(seconds(whole, 24000), abs=0.03)
    assert rms_dbfs(b"".join(chunks)) == pytest.approx(rms_dbfs(whole), abs=1.0)


async def test_breaking_out_of_a_stream_does_not_hang_or_disturb_the_next_utterance(tts: EspeakTts) -> None:
    reference = await tts.synthesize(GREETING, sample_rate=16000)

    async for chunk in tts.stream(LONG_TEXT, sample_rate=16000):
        assert chunk
        break
    async with contextlib.aclosing(tts.stream(LONG_TEXT, sample_rate=16000)) as chunks:
        async for _ in chunks:
            break

    after = await tts.synthesize(GREETING, sample_rate=16000)
    assert seconds(after, 16000) == pytest.approx(seconds(reference, 16000), abs=0.03)


async def test_cancelling_a_consumer_mid_stream_stops_cleanly(tts: EspeakTts) -> None:
    first_chunk = asyncio.Event()

    async def play() -> None:
        async for _ in tts.stream(LONG_TEXT, sample_rate=16000):
            first_chunk.set()
            await asyncio.sleep(3600)  # a slow consumer: the caller barges in here

    player = asyncio.create_task(play())
    await first_chunk.wait()
    player.cancel()
    with pytest.raises(asyncio.CancelledError):
        await player
    assert seconds(await tts.synthesize("Yes.", sample_rate=16000), 16000) > 0.2


async def test_cancelling_synthesize_leaves_the_engine_usable(tts: EspeakTts) -> None:
    job = asyncio.create_task(tts.synthesize(LONG_TEXT, sample_rate=16000))
    await asyncio.sleep(0)
    job.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await job
    assert 1.0 <= seconds(await tts.synthesize(GREETING, sample_rate=16000), 16000) <= 3.0


async def test_concurrent_requests_are_serialised_and_each_gets_its_own_audio(tts: EspeakTts) -> None:
    texts = ["Yes.", "Your balance is forty two dollars and ten cents.", GREETING]
    alone = [seconds(await tts.synthesize(t, sample_rate=16000), 16000) for t in texts]
    together = await asyncio.gather(*(tts.synthesize(t, sample_rate=16000) for t in texts))
    # Durations differ by seconds between the texts, so any mixing of two utterances would show.
    assert [seconds(pcm, 16000) for pcm in together] == pytest.approx(alone, abs=0.03)
    assert all(rms_dbfs(pcm) > -35.0 for pcm in together)


def median_pitch_hz(pcm: bytes, sample_rate: int) -> float:
    """Median autocorrelation pitch over loud 40 ms frames (60-400 Hz search range)."""
    x = np.frombuffer(pcm, "<i2").astype(np.float64)
    size = int(0.04 * sample_rate)
    frames = x[: x.size // size * size].reshape(-1, size)
    frames = frames[np.sqrt(np.mean(frames**2, axis=1)) > 1000.0]
    frames -= frames.mean(axis=1, keepdims=True)
    spectrum = np.fft.rfft(frames, n=2 * size)
    autocorr = np.fft.irfft(np.abs(spectrum) ** 2)[:, :size]
    lo, hi = sample_rate // 400, sample_rate // 60
    return float(np.median(sample_rate / (lo + np.argmax(autocorr[:, lo:hi], axis=1))))


async def test_voice_can_be_chosen_per_request(tts: EspeakTts) -> None:
    default = await tts.synthesize(GREETING, sample_rate=16000)
    female = await tts.synthesize(GREETING, sample_rate=16000, voice="en-us+f3")  # espeak variant syntax
    british = await tts.synthesize(GREETING, sample_rate=16000, voice="en")  # espeak's "en" is en-GB
    assert median_pitch_hz(female, 16000) > 1.5 * median_pitch_hz(default, 16000)
    assert 1.0 <= seconds(british, 16000) <= 3.0
    again = await tts.synthesize(GREETING, sample_rate=16000)  # the instance's own voice is restored
    assert median_pitch_hz(again, 16000) == pytest.approx(median_pitch_hz(default, 16000), rel=0.1)


async def test_unknown_voice_is_a_clear_error_and_harmless(tts: EspeakTts) -> None:
    with pytest.raises(ValueError, match="no-such-voice"):
        await tts.synthesize(GREETING, sample_rate=16000, voice="no-such-voice")
    with pytest.raises(ValueError, match="no-such-voice"):
        async for _ in tts.stream(GREETING, sample_rate=16000, voice="no-such-voice"):
            pass
    assert 1.0 <= seconds(await tts.synthesize(GREETING, sample_rate=16000), 16000) <= 3.0


async def test_warm_up_makes_the_provider_ready() -> None:
    tts = EspeakTts()
    assert not tts.ready
    await tts.warm_up()
    assert tts.ready


async def test_warm_up_fails_loudly_on_a_bad_voice_setting() -> None:
    tts = EspeakTts(voice="no-such-voice")
    with pytest.raises(ValueError, match="no-such-voice"):
        await tts.warm_up()
    assert not tts.ready


def test_invalid_settings_are_rejected() -> None:
    with pytest.raises(ValueError):
        EspeakTts(rate_wpm=10)
