"""Semantic end of turn in the cascade: a reply starts on a likely end of turn but is heard only once the turn
is over; when the caller goes on, the unheard reply is dropped and its words open the same turn (one reply,
nothing said twice, nothing lost)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from tests.unit.cascade.fakes import ScriptedBrain, WholeTurnStt
from tests.unit.cascade.test_cascade import SILENCE, SPEECH, Harness
from voice.llm.base import ChatRequest
from voice.speech_cascade.turn_taking import CONTINUE_WITHIN_MS

SEMANTIC = {"turn_end_mode": "semantic", "turn_end_min_silence_ms": 200, "turn_end_speculate_ms": 96}


def callers(h: Harness) -> list[str]:
    return [t.text for t in h.transcripts.turns if t.speaker == "caller"]


def user_messages(h: Harness) -> list[str]:
    return [m["content"] for m in h.cascade.conversation.history() if m["role"] == "user"]


async def test_the_brain_is_asked_during_the_pause_but_the_caller_hears_nothing_until_the_turn_ends() -> None:
    async with Harness(["what is my checking balance"], [["Your balance is ten dollars."]], **SEMANTIC) as h:
        await h.idle()
        greeted = h.sink.frames
        await h.windows(SPEECH, 20)
        await h.windows(SILENCE, 4)  # 128 ms: past the early start, short of the turn's end
        for _ in range(20):
            await asyncio.sleep(0.005)
        assert len(h.brain.requests) == 1  # recognition and the brain ran already...
        assert h.sink.frames == greeted  # ...but nothing was played
        assert callers(h) == [] and user_messages(h) == []  # and nothing is recorded yet
        await h.windows(SILENCE, 20)  # the pause goes on: the turn is over (no telling words: 600 ms)
        await h.idle()
        assert h.sink.frames > greeted
    assert callers(h) == ["what is my checking balance"]
    assert user_messages(h) == ["what is my checking balance"]
    replies = [t for t in h.agent_turns() if t.kind == "reply"]
    assert [t.text for t in replies] == ["Your balance is ten dollars."]
    assert not replies[0].interrupted


async def test_the_caller_going_on_drops_the_unheard_reply_and_keeps_their_words() -> None:
    stt = ["i would like to", "check my savings"]
    async with Harness(stt, [["Wrong, too early."], ["Sure, your savings."]], **SEMANTIC) as h:
        await h.idle()
        await h.windows(SPEECH, 20)
        await h.windows(SILENCE, 5)  # the reply starts early (160 ms)...
        for _ in range(20):
            await asyncio.sleep(0.005)
        assert len(h.brain.requests) == 1
        await h.windows(SPEECH, 12)  # ...and the caller goes on
        await h.windows(SILENCE, 25)
        await h.idle()
    assert h.sink.stops == 0  # the dropped reply never reached the caller
    assert callers(h) == ["i would like to check my savings"]
    assert user_messages(h) == ["i would like to check my savings"]
    last = [m["content"] for m in h.brain.requests[-1].messages if m["role"] == "user"]
    assert last == ["i would like to check my savings"]
    replies = [t.text for t in h.agent_turns() if t.kind == "reply"]
    assert replies == ["Sure, your savings."]


async def test_a_recogniser_that_reads_the_continued_turn_whole_replaces_the_carried_words() -> None:
    """The stretch before the pause, read alone, came back wrong ("chick"); read with the rest of the turn it
    is right, and the caller's turn is that text alone, not the carried words followed by it."""
    stt = WholeTurnStt(["i would like to chick", "i would like to check my savings"])
    async with Harness(stt, [["Too early."], ["Thanks."]], **SEMANTIC) as h:
        await h.idle()
        await h.windows(SPEECH, 20)
        await h.windows(SILENCE, 5)  # the reply starts early...
        for _ in range(20):
            await asyncio.sleep(0.005)
        assert len(h.brain.requests) == 1
        await h.windows(SPEECH, 12)  # ...and the caller goes on
        await h.windows(SILENCE, 25)
        await h.idle()
    assert stt.continued == 1
    assert callers(h) == ["i would like to check my savings"]
    assert user_messages(h) == ["i would like to check my savings"]


class CountingBrain(ScriptedBrain):
    """Keeps a per-call count in its scratch (the way the local brain keeps a pending confirmation) and notes
    the count each request saw."""

    def __init__(self, replies: list[Any]) -> None:
        super().__init__(replies)
        self.seen: list[int] = []

    async def stream(self, request: ChatRequest) -> AsyncIterator[Any]:
        self.seen.append(request.scratch.get("turns", 0))
        request.scratch["turns"] = request.scratch.get("turns", 0) + 1
        async for event in super().stream(request):
            yield event


async def test_a_dropped_early_reply_leaves_the_brains_call_state_as_it_was() -> None:
    """The brain answered "yes," early and the caller went on: its state must be the one before that answer
    (a pending confirmation still pending), and the state of the reply the caller heard is kept."""
    async with Harness(["yes", "yes that's right go ahead"], [["Too early."], ["Done."]], **SEMANTIC) as h:
        brain = CountingBrain([["Too early."], ["Done."], ["Anything else?"]])
        h.cascade._thinker._llm = brain
        await h.idle()
        await h.windows(SPEECH, 20)
        await h.windows(SILENCE, 5)  # the reply starts early...
        for _ in range(20):
            await asyncio.sleep(0.005)
        await h.windows(SPEECH, 12)  # ...and the caller goes on
        await h.windows(SILENCE, 25)
        await h.idle()
        h.stt.texts.append("thanks")
        await h.say()
        await h.idle()
    assert brain.seen == [0, 0, 1]


async def test_words_still_being_recognised_when_the_caller_goes_on_are_kept() -> None:
    async with Harness(["my name is jordan", "rivera"], [["Thanks Jordan."]], **SEMANTIC) as h:
        await h.idle()
        h.stt.delay_s = 0.3  # the early recognition is still running when the caller goes on
        await h.windows(SPEECH, 20)
        await h.windows(SILENCE, 5)
        await h.windows(SPEECH, 12)
        await h.windows(SILENCE, 25)
        await h.idle()
    assert callers(h) == ["my name is jordan rivera"]
    assert len(h.brain.requests) == 1  # the first recognition never reached the brain


async def test_fixed_mode_starts_nothing_before_the_silence() -> None:
    async with Harness(["what is my balance"], [["Ten dollars."]], turn_end_mode="fixed") as h:
        await h.idle()
        await h.windows(SPEECH, 20)
        await h.windows(SILENCE, 10)  # 320 ms: semantic mode would have started
        for _ in range(20):
            await asyncio.sleep(0.005)
        assert h.brain.requests == []
        await h.windows(SILENCE, 15)
        await h.idle()
    assert callers(h) == ["what is my balance"]


async def test_going_on_after_the_turn_end_but_before_hearing_the_reply_is_the_same_turn() -> None:
    async with Harness(
        ["i need to report an accident", "i was rear ended"], [["Sorry to hear that."]], **SEMANTIC
    ) as h:
        await h.idle()
        greeted = h.sink.frames
        h.stt.delay_s = 0.4  # the reply is not ready when the caller starts their second sentence
        await h.windows(SPEECH, 20)
        await h.windows(SILENCE, 22)  # the turn ends (no telling words: 608 ms)
        assert h.cascade.replying() and h.sink.frames == greeted
        await h.windows(SPEECH, 12)  # "I was rear ended ..."
        await h.windows(SILENCE, 25)
        await h.idle()
    assert h.sink.stops == 0
    assert callers(h) == ["i need to report an accident i was rear ended"]
    assert [t.text for t in h.agent_turns() if t.kind == "reply"] == ["Sorry to hear that."]
    assert len(h.brain.requests) == 1


async def speak_until_the_reply_starts(h: Harness) -> None:
    """After the greeting: a caller turn, then the pause that ends it, until the reply's first audio goes out."""
    await h.idle()
    greeted = h.sink.frames
    await h.windows(SPEECH, 20)
    await h.windows(SILENCE, 25)
    for _ in range(100):
        await asyncio.sleep(0.005)
        if h.sink.frames > greeted:
            return
    raise AssertionError("the reply never started")


async def test_going_on_in_the_first_moments_of_a_heard_reply_is_the_same_turn() -> None:
    """The reply had started playing (the turn end came in the caller's pause between two sentences) and the
    caller began their second sentence before they could have been answering it: the reply is stopped
    (StopAudio), one caller turn holds both sentences, the brain answers them together, and what the brain
    worked out for the dropped reply is not kept."""
    brain = CountingBrain([["One. Two. Three. Four. Five. Six. Seven. Eight."], ["Sorry to hear that."]])
    stt = ["i need to report an accident", "i was rear ended"]
    async with Harness(stt, [], **SEMANTIC) as h:
        h.cascade._thinker._llm = brain
        await speak_until_the_reply_starts(h)
        assert callers(h) == []  # the caller's turn is not committed yet
        await h.windows(SPEECH, 12)  # "I was rear ended ...", well inside the first CONTINUE_WITHIN_MS
        await h.windows(SILENCE, 25)
        await h.idle()
    assert h.sink.stops == 1  # the reply was audible: cut with StopAudio
    assert callers(h) == ["i need to report an accident i was rear ended"]
    assert user_messages(h) == ["i need to report an accident i was rear ended"]
    assert [t.text for t in h.agent_turns() if t.kind == "reply"] == ["Sorry to hear that."]
    assert brain.seen == [0, 0]  # the dropped reply's count was never kept


async def test_a_turn_is_committed_once_its_reply_has_been_heard_for_the_limit() -> None:
    brain = [["One. Two. Three. Four. Five. Six. Seven. Eight."]]
    async with Harness(["what is my balance"], brain, **SEMANTIC) as h:
        h.tts.bytes_per_word = 32 * 150  # long enough to still be playing after the limit
        await speak_until_the_reply_starts(h)
        assert callers(h) == []
        await asyncio.sleep(CONTINUE_WITHIN_MS / 1000 + 0.05)
        await h.windows(SILENCE, 1, pace=0.0)  # the next inbound frame commits it
        assert callers(h) == ["what is my balance"] and h.cascade.replying()
        await h.idle()


async def test_once_the_reply_is_heard_the_caller_barges_in_as_usual() -> None:
    brain = [["One. Two. Three. Four. Five. Six. Seven. Eight."], ["Okay."]]
    async with Harness(["what is my balance", "stop"], brain, **SEMANTIC) as h:
        h.tts.bytes_per_word = 32 * 150  # long enough to still be playing after the continuation limit
        await speak_until_the_reply_starts(h)
        await asyncio.sleep(CONTINUE_WITHIN_MS / 1000 + 0.05)  # heard for longer than a continuation may be
        await h.windows(SPEECH, 15, pace=0.01)  # talk over the reply the caller is hearing
        await h.windows(SILENCE, 25)
        await h.idle()
    assert callers(h) == ["what is my balance", "stop"]
    replies = [t for t in h.agent_turns() if t.kind == "reply"]
    assert replies[0].interrupted and replies[-1].text == "Okay."


async def test_the_words_judged_after_a_pause_include_those_before_it() -> None:
    from tests.unit.cascade.fakes import ScriptedStt
    from voice.speech_cascade.listening import CallerListener

    listener = CallerListener(ScriptedStt([]), call_id="c")
    await listener.open(sample_rate=16000, languages=["en-US"])
    listener.turn_started()
    listener._on_partial("can you tell me my")
    listener.turn_ended()  # an early reply finalises these words...
    assert listener.sounds_unfinished()  # ...and a partial that lands late still counts
    listener.turn_started(resumed=True)  # the caller goes on
    listener._on_partial("checking balance")
    assert listener.turn_words == "can you tell me my checking balance"
    assert listener.sounds_complete() and not listener.sounds_unfinished()
    listener.turn_ended()
    listener.turn_started()  # a new turn starts from nothing
    assert listener.turn_words == ""
