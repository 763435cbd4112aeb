"""VoiceLiveOrchestrator as a unit: the real SDK connection over a scripted realtime server socket, a real
PacedPlayout over a counting sink, the shipped tools on the demo data in the embedded Redis.

Each behaviour (greeting, audio out, barge-in, tool calls, handoffs, DTMF, reconnect, bad events) is pinned
down by the events the orchestrator sends back on the wire.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from redis.asyncio import Redis

from tests.call_doubles import slow_down_tools
from tests.support import eventually
from tests.unit.voicelive.harness import FRAME, GREETING_START, RATE, Harness


@pytest.fixture
async def h(redis: Redis) -> Any:
    async with Harness(redis) as harness:
        yield harness


async def test_session_is_configured_then_the_greeting_is_spoken_verbatim(h: Harness) -> None:
    update = (await h.sent("session.update"))[0]["session"]
    assert update["instructions"] == h.conversation.system_prompt()["content"]
    assert update["input_audio_sampling_rate"] == RATE and update["output_audio_format"] == "pcm16_16000hz"
    create = (await h.sent("response.create"))[0]["response"]
    message = create["pre_generated_assistant_message"]
    assert message["role"] == "assistant" and message["content"][0]["text"].startswith(GREETING_START)
    assert h.server.connect_args[0]["endpoint"] == "http://127.0.0.1:9"
    await h.greeted()
    assert h.sink.frames >= 10  # 200 ms of greeting audio reached the call
    greeting = h.agent_turns()[0]
    assert (
        greeting.kind == "greeting" and greeting.text.startswith(GREETING_START) and not greeting.interrupted
    )
    assert h.conversation.history()[-1] == {"role": "assistant", "content": greeting.text}


async def test_caller_audio_is_batched_two_frames_per_append(h: Harness) -> None:
    await h.sent("session.update")
    await eventually(lambda: h.orch._channel.ready)
    await h.caller_audio(200)
    appends = await h.sent("input_audio_buffer.append", 5)
    assert len(appends) == 5 and all(
        len(a["audio"]) == len(__import__("base64").b64encode(bytes(2 * FRAME))) for a in appends
    )


async def test_barge_in_stops_audio_cancels_and_truncates_what_was_not_heard(h: Harness) -> None:
    await h.greeted()
    await h.caller_audio(400)
    rid = h.respond(
        "Here are your last ten transactions, starting with the most recent one.", audio_ms=3000, done=False
    )
    await eventually(lambda: h.sink.frames >= 25)  # about half a second of the reply has been played
    stops = h.sink.stops
    h.ws.push({"type": "input_audio_buffer.speech_started", "audio_start_ms": 380, "item_id": "in_2"})
    await h.sent("conversation.item.truncate")
    assert h.sink.stops == stops + 1
    assert len(await h.sent("response.cancel")) == 1
    truncate = h.ws.of_type("conversation.item.truncate")[0]
    assert truncate["item_id"] == "item_2" and truncate["content_index"] == 0
    assert 0 < truncate["audio_end_ms"] < 3000
    assert len(h.telemetry.barge_ins) == 1
    h.finish(rid, status="cancelled")
    turn = await eventually(lambda: [t for t in h.agent_turns() if t.interrupted])
    assert turn[0].full_text and turn[0].full_text.startswith("Here are your last ten")
    assert len(turn[0].text) < len(turn[0].full_text)


async def test_no_barge_in_for_an_agent_that_may_not_be_interrupted(redis: Redis) -> None:
    async with Harness(redis, barge_in=False) as h:
        await h.greeted()
        h.respond("A long answer the caller has to hear out.", audio_ms=2000)
        await eventually(lambda: h.sink.frames >= 20)
        h.ws.push({"type": "input_audio_buffer.speech_started", "audio_start_ms": 100, "item_id": "in_2"})
        h.ws.push({"type": "input_audio_buffer.speech_stopped", "audio_end_ms": 900, "item_id": "in_2"})
        await eventually(lambda: len(h.agent_turns()) == 2)
        assert h.sink.stops == 0 and not h.ws.of_type("response.cancel")


async def test_function_call_output_goes_back_and_a_new_response_is_asked_for(h: Harness) -> None:
    await h.greeted()
    h.ws.push({"type": "input_audio_buffer.speech_started", "audio_start_ms": 0, "item_id": "in_1"})
    h.ws.push({"type": "input_audio_buffer.speech_stopped", "audio_end_ms": 2000, "item_id": "in_1"})
    h.ws.push(
        {
            "type": "conversation.item.input_audio_transcription.completed",
            "item_id": "in_1",
            "content_index": 0,
            "transcript": "I'm Jordan Rivera, last four 4821.",
        }
    )
    h.function_call("verify_identity", {"full_name": "Jordan Rivera", "account_last4": "4821"})
    items = await h.sent("conversation.item.create")
    output = items[0]["item"]
    assert output["type"] == "function_call_output" and output["call_id"] == "call_1"
    assert json.loads(output["output"])["ok"] is True
    follow_up = (await h.sent("response.create", 2))[1]["response"]
    assert "pre_generated_assistant_message" not in follow_up
    h.respond("Thanks Jordan, you're verified.")
    reply = await eventually(lambda: [t for t in h.agent_turns() if t.kind == "reply"])
    assert reply[0].text == "Thanks Jordan, you're verified."
    assert [c.name for c in reply[0].tool_calls] == ["verify_identity"] and reply[0].tool_calls[0].ok
    assert reply[0].latency is not None and reply[0].latency.end_of_turn_ms is not None
    caller = [t for t in h.observer.turns if t.speaker == "caller"]
    assert caller[0].text == "I'm Jordan Rivera, last four [account]."  # published masked
    roles = [m["role"] for m in h.conversation.history()]
    assert roles[-4:] == ["user", "assistant", "tool", "assistant"]  # caller, tool call, result, reply
    assert h.conversation.history()[-4]["content"] == "I'm Jordan Rivera, last four 4821."  # the agent's own
    assert h.conversation.session.get("verified") or h.conversation.tools_called == ["verify_identity"]
    assert h.saved  # state saved after agent turns


async def test_handoff_updates_the_session_and_the_new_agent_greets(h: Harness) -> None:
    await h.greeted()
    h.function_call("handoff_card_services", {"reason": "lost card"})
    updates = await h.sent("session.update", 2)
    assert "card services" in updates[1]["session"]["instructions"].lower()
    assert "lock_card" in {t["name"] for t in updates[1]["session"]["tools"]}
    greeting = (await h.sent("response.create", 2))[1]["response"]["pre_generated_assistant_message"]
    assert greeting["content"][0]["text"].startswith("You're now with card services")
    assert h.observer.changes == [("concierge", "card_services")]
    assert h.conversation.agent.name == "card_services"
    h.respond(greeting["content"][0]["text"])
    turn = await eventually(lambda: [t for t in h.agent_turns() if t.agent == "card_services"])
    assert turn[0].text.startswith("You're now with card services")


async def test_end_call_tool_says_goodbye_then_hangs_up(h: Harness) -> None:
    await h.greeted()
    h.function_call("end_call", {"reason": "caller is done"})
    goodbye = (await h.sent("response.create", 2))[1]["response"]["pre_generated_assistant_message"]
    assert goodbye["content"][0]["text"] == "Thank you for calling. Goodbye."
    assert not h.control.hung_up  # not before the goodbye was heard
    h.respond("Thank you for calling. Goodbye.")
    await eventually(lambda: h.control.hung_up)
    await h.orch.aclose()
    assert h.transcripts.outcome is not None and h.transcripts.outcome.reason == "agent ended the call"


async def test_dtmf_digits_become_a_user_message_and_a_response(h: Harness) -> None:
    await h.greeted()
    for digit in "4821#":
        await h.orch.on_dtmf(digit)
    item = (await h.sent("conversation.item.create"))[0]["item"]
    assert item["role"] == "user" and item["content"][0]["text"] == "[dtmf] 4821"
    await h.sent("response.create", 2)
    assert [t.kind for t in h.observer.turns if t.speaker == "caller"] == ["dtmf"]


async def test_reconnects_once_with_the_conversation_replayed_then_hangs_up_on_a_second_drop(
    h: Harness,
) -> None:
    await h.greeted()
    h.conversation.add_caller_text("What's my balance?")
    first = h.ws
    first.drop()
    await eventually(lambda: len(h.server.sockets) == 2)
    second = h.server.sockets[1]
    await h.sent("session.update", ws=second)
    replayed = await h.sent("conversation.item.create", 2, ws=second)
    assert [i["item"]["role"] for i in replayed] == ["assistant", "user"]
    assert replayed[1]["item"]["content"][0]["text"] == "What's my balance?"
    await eventually(lambda: h.orch._channel.ready)
    await h.caller_audio(100)
    await h.sent("input_audio_buffer.append", 1, ws=second)  # audio flows again
    assert not h.control.hung_up
    second.drop()
    await eventually(lambda: h.control.hung_up)
    assert h.control.hung_up == ["realtime session lost"]
    assert len(h.server.sockets) == 2


async def test_a_failed_first_connect_hangs_up_with_a_reason(redis: Redis) -> None:
    async with Harness(redis, refuse=1) as h:
        await eventually(lambda: h.control.hung_up)
        assert h.control.hung_up == ["realtime session unavailable"]
    assert h.transcripts.outcome is not None and h.transcripts.outcome.reason == "realtime session lost"


async def test_malformed_and_unknown_events_are_ignored(h: Harness) -> None:
    await h.sent("response.create")
    h.ws.push_raw("{not json")
    h.ws.push_raw("[1, 2, 3]")
    h.ws.push({"type": "some.future.event", "payload": {"x": 1}})
    h.ws.push({"type": "response.audio.delta", "delta": 12345})
    h.ws.push({"type": "error", "error": {"type": "invalid_request_error", "code": "bad", "message": "nope"}})
    await h.greeted()
    assert h.sink.frames >= 10 and not h.control.hung_up


async def test_aclose_is_idempotent_and_leaves_nothing_running(h: Harness) -> None:
    await h.greeted()
    h.respond("A sentence cut short by a hang-up.", audio_ms=2000, done=False)
    await eventually(lambda: h.sink.frames >= 20)
    await h.orch.aclose("caller hung up")
    await h.orch.aclose("again")
    assert not h.orch._tasks and h.orch._session_task is not None and h.orch._session_task.done()
    assert h.ws.closed
    cut = [t for t in h.transcripts.turns if t.interrupted]
    assert cut and cut[0].full_text == "A sentence cut short by a hang-up."
    assert h.transcripts.outcome is not None and h.transcripts.outcome.reason == "caller hung up"


async def test_barge_in_during_a_tool_run_sends_the_output_but_no_new_response(h: Harness) -> None:
    await h.greeted()
    conversation = h.conversation
    slow_down_tools(conversation, 0.3)
    h.function_call("verify_identity", {"full_name": "Jordan Rivera", "account_last4": "4821"})
    await asyncio.sleep(0.05)  # the tool is running
    h.ws.push({"type": "input_audio_buffer.speech_started", "audio_start_ms": 0, "item_id": "in_9"})
    output = (await h.sent("conversation.item.create"))[0]["item"]
    assert output["type"] == "function_call_output" and json.loads(output["output"])["ok"] is True
    await asyncio.sleep(0.2)  # give a wrongly created response time to show up
    assert len(h.ws.of_type("response.create")) == 1  # only the greeting's
    assert conversation.tools_called == ["verify_identity"]
