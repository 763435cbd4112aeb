"""The latency benchmark's scripted recogniser: partials follow the voiced audio it is given, late by the
configured lag, and finals hand out the words heard since the last one (a pause's words carry on)."""

from __future__ import annotations

import asyncio
import wave

import numpy as np

from bench.phrases import FRAME_MS, make_phrase, voiced_frames
from bench.turn_fakes import ScriptedSpeechToText
from voice.stt.base import SttConfig

RATE = 16000
FRAME = RATE * FRAME_MS // 1000


def frames(voiced: int, quiet: int = 0) -> list[bytes]:
    loud = (np.sin(np.arange(FRAME) / 3) * 8000).astype("<i2").tobytes()
    return [loud] * voiced + [bytes(FRAME * 2)] * quiet


async def test_partials_follow_the_voiced_frames_and_finals_hand_out_new_words() -> None:
    partials: list[str] = []
    stt = ScriptedSpeechToText([[("my account ends in", 8), ("four eight two one", 8)], [("yes", 2)]], 0, 0)
    session = await stt.open_session(SttConfig(sample_rate=RATE, on_partial=partials.append))
    for chunk in frames(8, quiet=10):  # the first part, then a pause
        session.push(chunk)
    await asyncio.sleep(0.01)
    assert partials[-1] == "my account ends in"
    assert (await session.end_of_turn()).text == "my account ends in"  # an early reply's final
    for chunk in frames(5):
        session.push(chunk)
    await asyncio.sleep(0.01)
    assert partials[-1] == "four eight"  # words spread over their part's frames by length (9 of 15 letters)
    for chunk in frames(3):
        session.push(chunk)
    assert (await session.end_of_turn()).text == "four eight two one"
    for chunk in frames(2):
        session.push(chunk)
    assert (await session.end_of_turn()).text == "yes"


async def test_partials_come_late_by_the_lag() -> None:
    partials: list[str] = []
    stt = ScriptedSpeechToText([[("what is my balance", 4)]], 0, partial_lag_ms=50)
    session = await stt.open_session(SttConfig(sample_rate=RATE, on_partial=partials.append))
    for chunk in frames(4):
        session.push(chunk)
    await asyncio.sleep(0.01)
    assert partials == []
    await asyncio.sleep(0.08)
    assert partials[-1] == "what is my balance"


async def test_a_paused_phrase_is_one_wav_with_its_parts_counted(tmp_path) -> None:
    phrase = await make_phrase("My account ends in ... four eight two one.", tmp_path, pause_ms=450)
    assert phrase.paused and phrase.pauses_ms == (460,)  # whole 20 ms frames
    assert [text for text, _ in phrase.parts] == ["My account ends in", "four eight two one."]
    with wave.open(str(phrase.path)) as wav:
        pcm = wav.readframes(wav.getnframes())
    assert voiced_frames(pcm, RATE) == sum(n for _, n in phrase.parts)
    samples = np.frombuffer(pcm, dtype="<i2")
    silent_run = max(len(run) for run in np.split(samples, np.flatnonzero(samples != 0)) if len(run))
    assert silent_run >= RATE * 450 // 1000  # the pause is really in the audio


async def test_a_frame_over_or_short_per_utterance_never_moves_words_across_lines() -> None:
    """A path that resamples and re-chunks the audio (VoiceLive: client -> realtime server) counts an utterance's
    voiced frames a frame over or short of the script. That error must not add up over a call until a line
    takes the next one's first word ("what's my balance? My": a dangling "my", held as unfinished)."""
    lines = ["what's my balance", "i need help", "my card is lost", "yes", "my savings balance", "thanks"]
    partials: list[str] = []
    stt = ScriptedSpeechToText([[(line, 10)] for line in lines], 0, 0)
    session = await stt.open_session(SttConfig(sample_rate=RATE, on_partial=partials.append))
    for index, line in enumerate(lines):
        for chunk in frames(9 if index % 3 == 2 else 11, quiet=10):  # over, over, short, ...
            session.push(chunk)
        await asyncio.sleep(0.01)
        # what the end of turn judges: the partial ends on this line's last word, not the next line's first
        assert partials[-1].split()[-1] == line.split()[-1]
        assert (await session.end_of_turn()).text == line
