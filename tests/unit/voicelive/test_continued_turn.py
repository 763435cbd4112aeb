"""A caller who goes on after the end of their turn, before hearing the reply, on VoiceLive: the reply is
dropped unheard (response.cancel, its items deleted from the server's conversation), the caller's two input
items become one caller turn, and the next response answers it once. Once the caller heard some of the reply
or a tool acted on their words, speech is a barge-in as before.

The decision itself (`continuation.goes_on_with`) is pinned down first, then the orchestrator's wire events and
transcript over the scripted realtime server.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from redis.asyncio import Redis

from tests.support import eventually
from tests.unit.voicelive.harness import Harness
from voice.transcript import utcnow
from voice.voicelive.continuation import MAX_HEARD_MS, goes_on_with, heard_at
from voice.voicelive.responses import CallerSpeech, ResponseTurn

FIRST = "I'd like to check my balance."
SECOND = "For my savings account."


# --- the decision ----------------------------------------------------------------------------------------
def reply(**fields: Any) -> ResponseTurn:
    caller = fields.pop("caller", CallerSpeech(started_at=utcnow(), parts={"in_1": FIRST}))
    return ResponseTurn(response_id="resp_1", agent="concierge", caller=caller, **fields)


def test_a_reply_nothing_of_which_was_heard_is_dropped_when_the_caller_goes_on() -> None:
    assert goes_on_with(reply(), onset_at=10.0)
    assert goes_on_with(reply(audible_at=10.5), onset_at=10.0)  # its audio was still to start


def test_up_to_the_heard_limit_at_the_callers_onset_the_reply_counts_as_unheard() -> None:
    playing = reply(audible_at=10.0, has_audio=True)
    assert heard_at(playing, 10.15) == pytest.approx(150)
    assert goes_on_with(playing, onset_at=10.0 + MAX_HEARD_MS / 1000 - 0.01)
    assert not goes_on_with(playing, onset_at=10.0 + MAX_HEARD_MS / 1000 + 0.05)


@pytest.mark.parametrize(
    "fields",
    [
        {"tools_started": True},  # a tool acted on the caller's words
        {"caller": CallerSpeech(started_at=utcnow(), committed=True)},  # the words are final already
        {"caller": CallerSpeech(started_at=utcnow(), kind="dtmf")},  # keyed digits are final
        {"caller": None},  # not an answer to the caller (an unprompted response)
        {"kind": "greeting"},
        {"interrupted": True},
        {"dropped": True},
    ],
    ids=["tool ran", "committed", "keyed", "no caller", "greeting", "cut", "dropped"],
)
def test_no_continuation(fields: dict[str, Any]) -> None:
    assert not goes_on_with(reply(**fields), onset_at=10.0)
    assert not goes_on_with(None, onset_at=10.0)


# --- the orchestrator ---------------------------------------------------------------------------------------
@pytest.fixture
async def h(redis: Redis) -> Any:
    async with Harness(redis) as harness:
        yield harness


def caller_said(h: Harness, item: str, text: str) -> None:
    h.ws.push({"type": "input_audio_buffer.speech_started", "audio_start_ms": 0, "item_id": item})
    h.ws.push({"type": "input_audio_buffer.speech_stopped", "audio_end_ms": 1500, "item_id": item})
    h.ws.push(
        {
            "type": "conversation.item.input_audio_transcription.completed",
            "item_id": item,
            "content_index": 0,
            "transcript": text,
        }
    )


def reply_started(h: Harness, rid: str, item: str) -> None:
    """The server's own response to the turn end: created, its message item added, words before audio."""
    h.ws.push({"type": "response.created", "response": {"id": rid, "status": "in_progress", "output": []}})
    h.ws.push(
        {
            "type": "response.output_item.added",
            "response_id": rid,
            "output_index": 0,
            "item": {"id": item, "type": "message", "role": "assistant", "content": []},
        }
    )
    h.ws.push(
        {"type": "response.audio_transcript.delta", "response_id": rid, "item_id": item, "delta": "Sure,"}
    )


def callers(h: Harness) -> list[str]:
    return [t.text for t in h.observer.turns if t.speaker == "caller"]


async def test_the_caller_going_on_before_the_reply_is_heard_makes_one_turn_and_one_reply(h: Harness) -> None:
    await h.greeted()
    caller_said(h, "in_1", FIRST)
    reply_started(h, "resp_a", "item_a")
    await eventually(lambda: h.orch.book.generating)
    h.ws.push({"type": "input_audio_buffer.speech_started", "audio_start_ms": 1800, "item_id": "in_2"})
    await h.sent("response.cancel")
    h.finish("resp_a", status="cancelled", output=[{"id": "item_a", "type": "message", "role": "assistant"}])
    deleted = await h.sent("conversation.item.delete")
    assert [d["item_id"] for d in deleted] == ["item_a"]
    assert h.telemetry.turns_continued == 1
    assert callers(h) == []  # the first words are not final yet: the caller is still going
    h.ws.push({"type": "input_audio_buffer.speech_stopped", "audio_end_ms": 3000, "item_id": "in_2"})
    h.ws.push(
        {
            "type": "conversation.item.input_audio_transcription.completed",
            "item_id": "in_2",
            "content_index": 0,
            "transcript": SECOND,
        }
    )
    h.respond("Your savings balance is 1,250 dollars.", tagged=False)
    replies = await eventually(lambda: [t for t in h.agent_turns() if t.kind == "reply"])
    await asyncio.sleep(0.05)
    assert [t.text for t in h.agent_turns() if t.kind == "reply"] == [
        "Your savings balance is 1,250 dollars."
    ]
    assert not replies[0].interrupted and replies[0].latency is not None
    assert callers(h) == [f"{FIRST} {SECOND}"]
    caller = next(t for t in h.observer.turns if t.speaker == "caller")
    assert caller.seq < replies[0].seq
    assert [m["content"] for m in h.conversation.history() if m["role"] == "user"] == [f"{FIRST} {SECOND}"]
    assert not h.ws.of_type("conversation.item.truncate")


async def test_audio_of_the_dropped_reply_is_silenced_and_never_played(h: Harness) -> None:
    """The reply's first audio had just been queued when the caller went on: not played on."""
    await h.greeted()
    caller_said(h, "in_1", FIRST)
    rid = h.respond("Sure, which account?", audio_ms=2000, done=False, tagged=False)
    await eventually(lambda: h.playout.is_audible)
    h.ws.push({"type": "input_audio_buffer.speech_started", "audio_start_ms": 1600, "item_id": "in_2"})
    await h.sent("response.cancel")
    h.finish(rid, status="cancelled", output=[{"id": "item_2", "type": "message", "role": "assistant"}])
    assert [d["item_id"] for d in await h.sent("conversation.item.delete")] == ["item_2"]
    assert not h.playout.is_audible
    await asyncio.sleep(0.05)
    assert [t.kind for t in h.agent_turns()] == ["greeting"]  # the dropped reply is not in the transcript


async def test_a_reply_heard_for_longer_than_the_limit_is_barged_in_on(h: Harness) -> None:
    await h.greeted()
    caller_said(h, "in_1", FIRST)
    rid = h.respond("Sure, here is everything about your accounts.", audio_ms=3000, done=False, tagged=False)
    await eventually(lambda: h.sink.frames >= 40)  # well over the limit has been played
    h.ws.push({"type": "input_audio_buffer.speech_started", "audio_start_ms": 5000, "item_id": "in_2"})
    await h.sent("conversation.item.truncate")
    h.finish(rid, status="cancelled")
    cut = await eventually(lambda: [t for t in h.agent_turns() if t.interrupted])
    assert cut[0].full_text == "Sure, here is everything about your accounts."
    assert not h.ws.of_type("conversation.item.delete") and h.telemetry.turns_continued == 0
    assert callers(h) == [FIRST]  # a new turn starts: the first one is final


async def test_after_a_tool_acted_on_the_turn_the_caller_barges_in(h: Harness) -> None:
    await h.greeted()
    caller_said(h, "in_1", "I'm Jordan Rivera, last four 4821.")
    h.function_call("verify_identity", {"full_name": "Jordan Rivera", "account_last4": "4821"})
    await h.sent("conversation.item.create")  # the tool ran and its output went back
    h.ws.push({"type": "input_audio_buffer.speech_started", "audio_start_ms": 1800, "item_id": "in_2"})
    await asyncio.sleep(0.1)
    assert not h.ws.of_type("conversation.item.delete") and h.telemetry.turns_continued == 0
    assert callers(h) == ["I'm Jordan Rivera, last four [account]."]


async def test_a_transcription_the_server_never_sends_does_not_hold_the_next_turns(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("voice.voicelive.caller_turns.TRANSCRIPT_WAIT_S", 0.0)
    await h.greeted()
    h.ws.push({"type": "input_audio_buffer.speech_started", "audio_start_ms": 0, "item_id": "in_1"})
    h.ws.push({"type": "input_audio_buffer.speech_stopped", "audio_end_ms": 900, "item_id": "in_1"})
    caller_said(h, "in_2", SECOND)  # a new turn: the first is final, and its transcript never comes
    h.respond("Your savings balance is 1,250 dollars.", tagged=False)
    await eventually(lambda: callers(h) == [SECOND])
