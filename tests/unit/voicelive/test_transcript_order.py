"""The transcript of a VoiceLive call follows the caller's speech, whatever order the server's input
transcriptions arrive in: a reply is never written before the caller turn it answers, and a caller turn is never
written without the words of its first input item because they came late.

Agent turns that end at the same moment (a response that spoke and called a tool, and the answer that follows
it, both waiting for the audio to play out) are written in the order they were settled.

Realtime services transcribe input items on their own schedule (Azure VoiceLive often after the response has
started; the embedded server before it). Here every transcript of a first input item comes after the reply to
it is over, in the two ways a turn is split at a sentence end: the caller went on before hearing the reply
(one caller turn), or after hearing enough of it to barge in (two caller turns).
"""

from __future__ import annotations

from typing import Any

import pytest
from redis.asyncio import Redis

from tests.support import eventually
from tests.unit.voicelive.fakes import audio_delta
from tests.unit.voicelive.harness import RATE, Harness
from voice.transcript import TranscriptTurn

FIRST = "I need to report an accident."
SECOND = "I was rear ended yesterday on Main Street."


@pytest.fixture
async def h(redis: Redis) -> Any:
    async with Harness(redis) as harness:
        yield harness


def speech(h: Harness, item: str, start_ms: int, end_ms: int) -> None:
    h.ws.push({"type": "input_audio_buffer.speech_started", "audio_start_ms": start_ms, "item_id": item})
    h.ws.push({"type": "input_audio_buffer.speech_stopped", "audio_end_ms": end_ms, "item_id": item})


def transcribed(h: Harness, item: str, text: str) -> None:
    h.ws.push(
        {
            "type": "conversation.item.input_audio_transcription.completed",
            "item_id": item,
            "content_index": 0,
            "transcript": text,
        }
    )


def written(h: Harness) -> list[tuple[str, str]]:
    turns: list[TranscriptTurn] = sorted(h.observer.turns, key=lambda t: t.seq)
    return [(t.speaker, t.text if t.speaker == "caller" else t.kind) for t in turns]


async def reply_over(h: Harness) -> None:
    """The reply just asked of the server started playing, and has played out (or was cut) and ended."""
    await eventually(lambda: h.orch.book.reply_draft() is not None)
    await eventually(lambda: h.orch.book.reply_draft() is None)


async def test_a_continued_turn_whose_first_words_come_after_the_reply_is_written_before_it(
    h: Harness,
) -> None:
    await h.greeted()
    speech(h, "in_1", 0, 1500)  # its transcript is late
    h.ws.push(
        {"type": "response.created", "response": {"id": "resp_a", "status": "in_progress", "output": []}}
    )
    await eventually(lambda: h.orch.book.generating)
    h.ws.push({"type": "input_audio_buffer.speech_started", "audio_start_ms": 1800, "item_id": "in_2"})
    await h.sent("response.cancel")  # the caller went on: the unheard reply is dropped
    h.finish("resp_a", status="cancelled")
    h.ws.push({"type": "input_audio_buffer.speech_stopped", "audio_end_ms": 3500, "item_id": "in_2"})
    transcribed(h, "in_2", SECOND)
    h.respond("What's your policy number?", tagged=False)
    await reply_over(h)
    assert written(h) == [("agent", "greeting")]  # the reply waits for the words it answers
    transcribed(h, "in_1", FIRST)
    await eventually(lambda: len(written(h)) == 3)
    assert written(h) == [("agent", "greeting"), ("caller", f"{FIRST} {SECOND}"), ("agent", "reply")]
    assert [m["role"] for m in h.conversation.history()] == ["assistant", "user", "assistant"]
    assert h.conversation.history()[1]["content"] == f"{FIRST} {SECOND}"


async def test_a_barge_in_on_a_turn_whose_words_come_late_keeps_every_turn_in_order(h: Harness) -> None:
    await h.greeted()
    speech(h, "in_1", 0, 1500)  # its transcript is late
    rid = h.respond("Sure, here is everything about your claims.", audio_ms=3000, done=False, tagged=False)
    await eventually(lambda: h.sink.frames >= 40)  # well over the heard limit: a barge-in, two caller turns
    h.ws.push({"type": "input_audio_buffer.speech_started", "audio_start_ms": 5000, "item_id": "in_2"})
    await h.sent("conversation.item.truncate")
    h.finish(rid, status="cancelled")
    h.ws.push({"type": "input_audio_buffer.speech_stopped", "audio_end_ms": 7000, "item_id": "in_2"})
    transcribed(h, "in_2", SECOND)
    h.respond("What's your policy number?", tagged=False)
    await reply_over(h)
    assert written(h) == [("agent", "greeting")]
    transcribed(h, "in_1", FIRST)
    await eventually(lambda: len(written(h)) == 5)
    assert written(h) == [
        ("agent", "greeting"),
        ("caller", FIRST),
        ("agent", "reply"),
        ("caller", SECOND),
        ("agent", "reply"),
    ]
    cut = [t for t in h.agent_turns() if t.interrupted]
    assert len(cut) == 1 and cut[0].full_text == "Sure, here is everything about your claims."
    assert [m["role"] for m in h.conversation.history()] == [
        "assistant",
        "user",
        "assistant",
        "user",
        "assistant",
    ]


async def test_a_reply_behind_a_transcript_that_never_comes_is_written_once_the_wait_is_over(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("voice.voicelive.caller_turns.TRANSCRIPT_WAIT_S", 0.2)
    await h.greeted()
    speech(h, "in_1", 0, 1500)  # never transcribed, and nothing else happens on the call
    h.respond("What's your policy number?", tagged=False)
    await eventually(lambda: written(h) == [("agent", "greeting"), ("agent", "reply")])


async def test_a_spoken_tool_call_and_the_answer_after_it_are_written_in_that_order(h: Harness) -> None:
    await h.greeted()
    speech(h, "in_1", 0, 3000)
    transcribed(h, "in_1", "I'm Jordan Rivera, last four 4821.")
    h.ws.push({"type": "response.created", "response": {"id": "resp_b", "status": "in_progress"}})
    for _ in range(10):  # a second of "one moment" still playing when the answer comes
        h.ws.push(audio_delta(bytes(RATE // 10 * 2), response_id="resp_b", item_id="item_b"))
    h.ws.push(
        {
            "type": "response.audio_transcript.done",
            "response_id": "resp_b",
            "item_id": "item_b",
            "transcript": "One moment.",
        }
    )
    call = {
        "name": "verify_identity",
        "call_id": "call_1",
        "arguments": '{"full_name": "Jordan Rivera", "account_last4": "4821"}',
    }
    h.ws.push(
        {"type": "response.function_call_arguments.done", "response_id": "resp_b", "item_id": "fc", **call}
    )
    h.finish(
        "resp_b", "item_b", output=[{"type": "function_call", "id": "fc", "status": "completed", **call}]
    )
    await h.sent("response.create", 2)  # the tool ran: the answer is asked for
    h.respond("Thank you, Jordan, you're verified.", audio_ms=200)
    await eventually(lambda: len(written(h)) == 4)
    assert [t.text for t in sorted(h.agent_turns(), key=lambda t: t.seq)][1:] == [
        "One moment.",
        "Thank you, Jordan, you're verified.",
    ]
