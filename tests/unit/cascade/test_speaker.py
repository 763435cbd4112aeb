"""AgentSpeaker: clauses play in order, and an interruption keeps only what the caller heard."""

from __future__ import annotations

import asyncio

from tests.call_doubles import CountingSink
from tests.unit.cascade.fakes import WordTts
from voice.speech_cascade.speaker import AgentSpeaker, Voice
from voice.transports.playout import PacedPlayout

RATE = 16000
FRAME = 640


async def make_speaker() -> tuple[AgentSpeaker, CountingSink, asyncio.Task[None], WordTts]:
    sink = CountingSink()
    playout = PacedPlayout(sink, frame_bytes=FRAME)
    task = asyncio.create_task(playout.run())
    tts = WordTts(ms_per_word=200)
    return AgentSpeaker(tts, playout, sample_rate=RATE), sink, task, tts


async def test_an_utterance_plays_every_clause_in_order_with_its_voice() -> None:
    speaker, sink, task, tts = await make_speaker()
    try:
        utterance = speaker.start()
        utterance.add("Hello there.", Voice(name="a"))
        utterance.add("Card services here.", Voice(name="b"))
        utterance.finish()
        await asyncio.wait_for(speaker.done(), timeout=10)
        assert sink.frames == 5 * 10
        assert tts.voices == ["a", "b"]
        assert not utterance.interrupted
        assert utterance.heard_text == "Hello there. Card services here."
        assert utterance.first_audio_at is not None
        assert not speaker.speaking
    finally:
        task.cancel()


async def test_interrupting_keeps_only_the_words_already_played() -> None:
    speaker, sink, task, _ = await make_speaker()
    try:
        utterance = speaker.start()
        utterance.add("One two three four five six seven eight nine ten.", Voice())
        utterance.add("Never heard at all.", Voice())
        utterance.finish()
        await asyncio.sleep(0.65)  # about three words at 200 ms each
        cut = await speaker.interrupt()
        assert cut is utterance
        assert utterance.interrupted
        heard = utterance.heard_text.split()
        assert 2 <= len(heard) <= 4, heard  # timing on a shared machine: about three words
        assert heard == "One two three four".split()[: len(heard)]
        assert sink.stops == 1  # StopAudio flushed what ACS had buffered
        frames_at_cut = sink.frames
        await asyncio.sleep(0.1)
        assert sink.frames == frames_at_cut  # nothing more is sent after the cut
        assert not speaker.speaking
        # The speaker is immediately ready for the next turn.
        again = speaker.start()
        again.add("Yes?", Voice())
        again.finish()
        await asyncio.wait_for(speaker.done(), timeout=5)
        assert again.heard_text == "Yes?"
    finally:
        task.cancel()


async def test_interrupt_with_nothing_playing_sends_no_stop_audio() -> None:
    speaker, sink, task, _ = await make_speaker()
    try:
        assert await speaker.interrupt() is None
        assert sink.stops == 0
    finally:
        task.cancel()
