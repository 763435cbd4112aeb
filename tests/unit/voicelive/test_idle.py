"""No dead air on silence: the VoiceLive orchestrator's idle watchdog (reprompt once, then goodbye and hang up),
with small idle values; waits are hang guards, the sleeps only give a wrong reprompt time to show up."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from redis.asyncio import Redis

from tests.call_doubles import slow_down_tools
from tests.support import eventually
from tests.unit.voicelive.harness import Harness
from voice.session.config import CallConfig

IDLE = CallConfig(dtmf_timeout_s=0.2, idle_reprompt_s=0.3, idle_hang_up_s=0.8)


def spoken(h: Harness) -> list[str]:
    """The verbatim lines asked for, in order (greeting, reprompts, goodbye, ...)."""
    return [
        e["response"]["pre_generated_assistant_message"]["content"][0]["text"]
        for e in h.ws.of_type("response.create")
        if "pre_generated_assistant_message" in e["response"]
    ]


async def line_asked(h: Harness, text: str, count: int = 1) -> None:
    """Wait for the `count`th request to say `text`, then play it like the server would."""
    await eventually(lambda: spoken(h).count(text) >= count)
    h.respond(text)


@pytest.fixture
async def h(redis: Redis) -> Any:
    async with Harness(redis, config=IDLE) as harness:
        yield harness


async def test_silence_gets_one_reprompt_then_a_goodbye_and_a_hang_up(h: Harness) -> None:
    await h.greeted()
    await line_asked(h, IDLE.reprompt)
    await line_asked(h, IDLE.goodbye)
    await eventually(lambda: h.control.hung_up)
    assert h.control.hung_up == ["caller silent"]
    assert spoken(h).count(IDLE.reprompt) == 1  # once, not on every idle stretch
    await eventually(lambda: [t.kind for t in h.agent_turns()] == ["greeting", "reprompt", "goodbye"])
    await h.orch.aclose("caller hung up")
    assert h.transcripts.outcome is not None and h.transcripts.outcome.reason == "idle timeout"
    assert not h.orch._tasks and h.orch._idle_task is not None and h.orch._idle_task.done()


async def test_a_caller_who_speaks_earns_a_fresh_reprompt_instead_of_the_goodbye(h: Harness) -> None:
    await h.greeted()
    await line_asked(h, IDLE.reprompt)
    h.ws.push({"type": "input_audio_buffer.speech_started", "audio_start_ms": 0, "item_id": "in_1"})
    await asyncio.sleep(1.2)  # longer than idle_hang_up_s: a caller mid-sentence is not idle
    assert spoken(h).count(IDLE.reprompt) == 1 and IDLE.goodbye not in spoken(h) and not h.control.hung_up
    h.ws.push({"type": "input_audio_buffer.speech_stopped", "audio_end_ms": 900, "item_id": "in_1"})
    await line_asked(h, IDLE.reprompt, count=2)
    assert IDLE.goodbye not in spoken(h)


async def test_keyed_digits_count_as_the_caller_being_there(h: Harness) -> None:
    await h.greeted()
    await line_asked(h, IDLE.reprompt)
    await h.orch.on_dtmf("4")  # mid-entry: not idle until the digits are sent
    await h.sent("conversation.item.create")
    await line_asked(h, IDLE.reprompt, count=2)  # the dtmf reply was never answered: reprompt, not goodbye
    assert IDLE.goodbye not in spoken(h)


async def test_a_slow_tool_is_not_silence(redis: Redis) -> None:
    # Roomier than IDLE: the function call must land before the first reprompt is due, even on a loaded machine;
    # the tool then runs well past the reprompt time.
    roomy = CallConfig(dtmf_timeout_s=0.2, idle_reprompt_s=1.0, idle_hang_up_s=3.0)
    async with Harness(redis, config=roomy) as h:
        await _slow_tool_then_its_reply(h, tool_seconds=2.5)


async def _slow_tool_then_its_reply(h: Harness, tool_seconds: float) -> None:
    await h.greeted()
    slow_down_tools(h.conversation, tool_seconds)
    h.function_call("verify_identity", {"full_name": "Jordan Rivera", "account_last4": "4821"})
    await h.sent("conversation.item.create")  # the tool finished
    follow_up = (await h.sent("response.create", 2))[1]["response"]
    assert "pre_generated_assistant_message" not in follow_up  # the tool's reply, not a reprompt
    assert spoken(h)[1:] == []
