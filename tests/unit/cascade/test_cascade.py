"""SpeechCascade as a unit: scripted providers, real playout and speaker, VAD probabilities fed directly.

The e2e tests run the same class with real audio, the embedded providers and the ACS simulator; here each
behaviour (turns, tools, handoffs, barge-in, idle, DTMF, provider failure) is pinned down deterministically.
"""

from __future__ import annotations

import asyncio
import gc
import json
from typing import Any

import pytest
from redis.asyncio import Redis

from registries.loader import load_registry
from tests.call_doubles import Control, CountingSink, MemoryTranscripts, slow_down_tools
from tests.unit.cascade.fakes import Reply, ScriptedBrain, ScriptedStt, WordTts
from voice.errors import ProviderError
from voice.llm.base import DTMF_PREFIX, ToolCall
from voice.session.config import CallConfig
from voice.session.conversation import CallConversation, ConversationState
from voice.session.orchestrator import CallDeps
from voice.speech_cascade.cascade import SpeechCascade
from voice.speech_cascade.providers import CascadeProviders
from voice.speech_cascade.records import ReplyState
from voice.transcript import TranscriptTurn
from voice.transports.playout import PacedPlayout

FRAME = 640
SPEECH = [0.95]
SILENCE = [0.0]


SNAPSHOT = load_registry()


@pytest.fixture(autouse=True)
def _demo_bank(redis: Redis) -> None:
    """The shipped tools run against the demo data in the real embedded Redis."""
    Harness.redis = redis


class Harness:
    redis: Redis | None = None

    def __init__(
        self, stt: list[str] | ScriptedStt, brain: list[Reply], *, scenario: str = "banking", **config: Any
    ) -> None:
        self.sink = CountingSink()
        self.playout = PacedPlayout(self.sink, frame_bytes=FRAME)
        self.tts = WordTts()
        self.stt = stt if isinstance(stt, ScriptedStt) else ScriptedStt(stt)
        self.brain = ScriptedBrain(brain)
        self.control = Control()
        self.transcripts = MemoryTranscripts()
        self.saved: list[ConversationState] = []
        conversation = CallConversation(
            call_id="call-1",
            caller="+14255550123",
            snapshot=SNAPSHOT,
            scenario=SNAPSHOT.scenarios[scenario],
            agent=SNAPSHOT.start_agent(scenario),
            redis=self.redis,
        )
        defaults: dict[str, Any] = {"idle_reprompt_s": 60, "idle_hang_up_s": 120, "dtmf_timeout_s": 0.2}
        deps = CallDeps(
            conversation=conversation,
            call_control=self.control,
            transcripts=self.transcripts,
            config=CallConfig(**{**defaults, **config}),
            save_state=self.saved.append,
        )
        self.cascade = SpeechCascade(
            deps, providers=CascadeProviders(stt=self.stt, tts=self.tts, llm=self.brain)
        )

    async def __aenter__(self) -> Harness:
        self._playout_task = asyncio.create_task(self.playout.run())
        await self.cascade.start(sample_rate=16000, playout=self.playout)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.cascade.aclose("test over")
        self._playout_task.cancel()

    async def windows(self, probabilities: list[float], count: int, *, pace: float = 0.0) -> None:
        """Feed `count` VAD windows (each with 32 ms of audio), optionally paced in real time."""
        for _ in range(count):
            await self.cascade.on_audio(bytes(1024), probabilities)
            await asyncio.sleep(pace)

    async def say(self, speech_windows: int = 20) -> None:
        """The caller speaks, then is silent long enough to end the turn (concierge: 600 ms)."""
        await self.windows(SPEECH, speech_windows)
        await self.windows(SILENCE, 25)

    async def idle(self) -> None:
        """Wait until the agent has finished everything it is doing."""
        for _ in range(400):
            await asyncio.sleep(0.02)
            if not self.cascade._agent_active:
                await asyncio.sleep(0.05)
                if not self.cascade._agent_active:
                    return
        raise AssertionError("the agent never went quiet")

    def agent_turns(self) -> list[TranscriptTurn]:
        return [t for t in self.transcripts.turns if t.speaker == "agent"]


def call(name: str, **arguments: Any) -> ToolCall:
    return ToolCall(id=f"call_{name}", name=name, arguments=json.dumps(arguments))


async def test_greeting_then_a_tool_turn_is_spoken_and_written_down() -> None:
    brain = [
        [call("verify_identity", full_name="Jordan Rivera", account_last4="4821")],
        ["Thanks Jordan, ", "you're verified. ", "What can I do for you?"],
    ]
    async with Harness(["my name is jordan rivera last four four eight two one"], brain) as h:
        await h.idle()
        assert "Contoso Bank" in h.tts.spoken[0]  # the concierge greeting was spoken first
        await h.say()
        await h.idle()
    turns = h.transcripts.turns
    assert [(t.speaker, t.kind) for t in turns] == [
        ("agent", "greeting"),
        ("caller", "speech"),
        ("agent", "reply"),
    ]
    reply = turns[2]
    assert reply.text == "Thanks Jordan, you're verified. What can I do for you?"
    assert reply.tool_calls[0].name == "verify_identity" and reply.tool_calls[0].ok
    assert reply.latency is not None and reply.latency.response_ms is not None
    assert reply.latency.end_of_turn_ms == pytest.approx(608, abs=40)
    # Clauses were handed to TTS separately, as soon as each was complete.
    assert h.tts.spoken[-2:] == ["you're verified.", "What can I do for you?"]
    # The brain saw the tool result before answering.
    second = h.brain.requests[1].messages
    assert second[-1]["role"] == "tool" and json.loads(second[-1]["content"])["ok"] is True
    assert h.transcripts.outcome is not None and h.transcripts.outcome.tools_called == ("verify_identity",)


async def test_finished_replies_are_freed_without_the_cyclic_collector() -> None:
    """A reply left in a reference cycle waits for a full collection, and those stall every call's frames
    for 40-60 ms with a few hundred calls up: finished replies must go by reference counting alone."""
    gc.collect()
    gc.disable()
    try:
        async with Harness(["what is my balance", "and my savings"], [["One."], ["Two."]]) as h:
            await h.idle()
            for _ in range(2):
                await h.say()
                await h.idle()
            assert len([t for t in h.transcripts.turns if t.speaker == "agent"]) == 3
            left = [o for o in gc.get_objects() if isinstance(o, ReplyState)]
    finally:
        gc.enable()
    assert left == []


async def test_barge_in_stops_audio_cancels_the_reply_and_keeps_what_was_heard() -> None:
    long_reply = ["Here are your transactions. " + " ".join(f"Item {n} was a purchase." for n in range(40))]
    async with Harness(["read my transactions", "stop that is enough"], [long_reply, ["Sure."]]) as h:
        await h.idle()
        await h.say()
        await asyncio.sleep(0.8)  # the long reply is playing
        stops_before = h.sink.stops
        await h.windows(SPEECH, 12, pace=0.005)  # >= 300 ms of caller speech: a barge-in
        assert h.sink.stops == stops_before + 1
        await h.windows(SILENCE, 25)
        await h.idle()
    cut = [t for t in h.agent_turns() if t.interrupted]
    assert len(cut) == 1
    assert cut[0].full_text and cut[0].text and len(cut[0].text) < len(cut[0].full_text)
    assert cut[0].full_text.startswith(cut[0].text)
    # The brain's history holds only the heard part, and the next turn was answered normally.
    history = h.brain.requests[-1].messages
    assistant = [m["content"] for m in history if m["role"] == "assistant" and m.get("content")]
    assert cut[0].text in assistant and cut[0].full_text not in assistant
    assert h.agent_turns()[-1].text == "Sure."


async def test_a_backchannel_does_not_interrupt() -> None:
    async with Harness(["tell me everything"], [["One. Two. Three. Four. Five. Six. Seven. Eight."]]) as h:
        await h.idle()
        h.tts.bytes_per_word = 32 * 150  # 1.2 s of reply, so most of it is still to come at the "uh-huh"
        await h.say()
        await asyncio.sleep(0.5)  # past the reply's first CONTINUE_WITHIN_MS: speech now is over the agent
        stops = h.sink.stops
        await h.windows(SPEECH, 6)  # ~190 ms "uh-huh"
        # The agent went quiet at once (StopAudio), keeping the rest of what it was saying ...
        assert h.sink.stops == stops + 1
        frames_paused = h.sink.frames
        await h.windows(SILENCE, 25)
        await h.idle()
        # ... and carried on when the "uh-huh" turned out to be only that.
        assert h.sink.stops == stops + 1
        assert h.sink.frames > frames_paused
        assert h.stt.discarded == 1
    assert not any(t.interrupted for t in h.agent_turns())
    assert h.agent_turns()[-1].text == "One. Two. Three. Four. Five. Six. Seven. Eight."


async def test_a_slow_tool_gets_a_holding_phrase_and_survives_barge_in() -> None:
    brain = [[call("get_balance", account_type="checking")], ["Okay, what else?"]]
    async with Harness(["what's my balance", "hello?"], brain, holding_after_s=0.05) as h:
        await h.idle()

        slow_down_tools(h.cascade.conversation, 0.5)
        await h.say()
        await asyncio.sleep(0.2)
        assert h.cascade.config.holding_phrase in h.tts.spoken
        await h.windows(SPEECH, 12, pace=0.005)  # barge in while the tool runs
        await h.windows(SILENCE, 25)
        await h.idle()
    # The tool finished and its result is in the history the brain saw for the next caller turn; the
    # reply to the tool result was never asked for (two requests: the tool turn and the "hello?" turn).
    assert len(h.brain.requests) == 2
    last = h.brain.requests[-1].messages
    tool_messages = [m for m in last if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in tool_messages] == ["call_get_balance"]
    assert last[-1] == {"role": "user", "content": "hello?"}
    assert h.agent_turns()[-1].text == "Okay, what else?"


async def test_announced_handoff_greets_in_the_new_agents_voice_and_switches_tools() -> None:
    brain = [[call("handoff_card_services", reason="lost card")], ["Card locked."]]
    async with Harness(["i lost my card", "lock it please"], brain) as h:
        await h.idle()
        await h.say()
        await h.idle()
        assert h.cascade.conversation.agent.name == "card_services"
        await h.say()
        await h.idle()
    greeting = SNAPSHOT.agents["card_services"].greeting.split()[0]
    assert any(text.startswith(greeting) for text in h.tts.spoken)
    last = h.brain.requests[-1]
    assert last.agent == "card_services"
    assert "lock_card" in {t.name for t in last.tools}
    # Shared context: card services sees what the caller told the concierge.
    assert any(m.get("content") == "i lost my card" for m in last.messages)


async def test_after_an_announced_handoff_the_new_agent_answers_the_request_in_the_same_reply() -> None:
    brain = [[call("handoff_card_services", reason="lost card")], ["Your card ending 4219 is locked."]]
    async with Harness(["i lost my card"], brain) as h:
        await h.idle()
        await h.say()
        await h.idle()
    intro = "You're now with card services. I can lock a card, send a replacement, or dispute a charge."
    reply = h.agent_turns()[-1]
    # One reply: the new agent introduces itself and answers; its "What happened?" would ask what it knows.
    assert reply.agent == "card_services" and reply.kind == "reply"
    assert reply.text == f"{intro} Your card ending 4219 is locked."
    assert [r.agent for r in h.brain.requests] == ["concierge", "card_services"]
    assert h.brain.requests[1].messages[-1]["content"].startswith("Handed over from concierge: lost card")


async def test_after_an_announced_handoff_with_nothing_to_add_the_greeting_asks_its_question() -> None:
    brain = [[call("handoff_card_services", reason="card trouble")], []]
    async with Harness(["i need card services"], brain) as h:
        await h.idle()
        await h.say()
        await h.idle()
    reply = h.agent_turns()[-1]
    assert reply.text == SNAPSHOT.agents["card_services"].greeting
    assert reply.kind == "greeting"


async def test_end_call_tool_says_goodbye_then_hangs_up() -> None:
    async with Harness(["that's all thanks"], [[call("end_call", reason="done")]]) as h:
        await h.idle()
        await h.say()
        await h.idle()
        assert h.control.hung_up == ["done"]
    assert h.agent_turns()[-1].text == "Thank you for calling. Goodbye."


async def test_transfer_tool_reaches_call_control() -> None:
    async with Harness(["get me a person"], [[call("transfer_to_human", reason="caller asked")]]) as h:
        await h.idle()
        await h.say()
        await h.idle()
        assert h.control.transfers == ["caller asked"]


async def test_dtmf_digits_reach_the_brain_as_one_turn() -> None:
    async with Harness([], [["Thanks."]]) as h:
        await h.idle()
        for digit in "4821":
            await h.cascade.on_dtmf(digit)
        await h.cascade.on_dtmf("#")
        await h.idle()
    user = [m for m in h.brain.requests[0].messages if m["role"] == "user"]
    assert user[-1]["content"] == f"{DTMF_PREFIX} 4821"
    assert [t.kind for t in h.transcripts.turns if t.speaker == "caller"] == ["dtmf"]


async def test_silence_reprompts_then_hangs_up() -> None:
    async with Harness([], [], idle_reprompt_s=0.4, idle_hang_up_s=1.2) as h:
        await h.idle()
        for _ in range(100):
            if h.control.hung_up:
                break
            await asyncio.sleep(0.05)
        assert h.control.hung_up == ["caller silent"]
    kinds = [t.kind for t in h.agent_turns()]
    assert kinds == ["greeting", "reprompt", "goodbye"]
    assert h.transcripts.outcome is not None and h.transcripts.outcome.reason == "idle timeout"


async def test_a_failing_brain_gets_an_apology_and_the_call_goes_on() -> None:
    brain: list[Reply] = [ProviderError("azure-openai", "every provider failed"), ["Now it works."]]
    async with Harness(["first", "second"], brain) as h:
        await h.idle()
        await h.say()
        await h.idle()
        await h.say()
        await h.idle()
    kinds = [(t.kind, t.text) for t in h.agent_turns()]
    assert kinds[1] == ("apology", h.cascade.config.apology)
    assert kinds[2] == ("reply", "Now it works.")


async def test_hanging_up_mid_sentence_records_the_cut_turn_and_leaves_no_tasks() -> None:
    h = Harness(["tell me"], [["Word " * 60 + "."]])
    await h.__aenter__()
    await h.idle()
    await h.say()
    await asyncio.sleep(0.5)
    await h.__aexit__()
    cut = h.agent_turns()[-1]
    assert cut.interrupted and cut.text and cut.full_text
    assert h.transcripts.outcome is not None and h.transcripts.outcome.reason == "test over"
    pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]
    assert not [t.get_name() for t in pending if "call-1" in t.get_name()]


async def test_words_before_a_pause_join_the_callers_next_turn() -> None:
    async with Harness(["my name is jordan", "rivera"], [["Thanks."]]) as h:
        await h.idle()
        h.stt.delay_s = 0.5  # recognition still running when the caller goes on talking
        await h.say()
        await h.windows(SPEECH, 12)  # ... and they carry on: a barge-in on the agent's "thinking"
        await h.windows(SILENCE, 25)
        await h.idle()
    users = [m["content"] for m in h.brain.requests[-1].messages if m["role"] == "user"]
    assert users == ["my name is jordan rivera"]
    assert [t.text for t in h.transcripts.turns if t.speaker == "caller"] == ["my name is jordan rivera"]


async def test_discrete_handoff_lets_the_new_agent_answer_the_same_turn(tmp_path) -> None:
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "quiet_banking.yaml").write_text(
        "name: quiet_banking\n"
        "start_agent: concierge\n"
        "agents: [concierge, card_services]\n"
        "handoffs:\n"
        "  - {from: concierge, to: card_services, type: discrete, share_context: false,"
        " condition: lost or stolen cards}\n"
    )
    snapshot = load_registry([tmp_path])
    brain = [[call("handoff_card_services", reason="lost card")], ["Which card was it?"]]
    h = Harness(["i lost my card"], brain)
    conversation = h.cascade.conversation
    conversation.snapshot = snapshot
    conversation.scenario = snapshot.scenarios["quiet_banking"]
    async with h:
        await h.idle()
        await h.say()
        await h.idle()
    # No greeting from card services: it answered the caller's turn straight away, in the same reply.
    reply = h.agent_turns()[-1]
    assert reply.agent == "card_services" and reply.text == "Which card was it?"
    second = h.brain.requests[1]
    assert second.agent == "card_services"
    # Without shared context it still gets what the caller just asked, but not the concierge's greeting.
    users = [m["content"] for m in second.messages if m["role"] == "user"]
    assert users == ["i lost my card"]
    assert not any(m["role"] == "assistant" and m.get("content") for m in second.messages)


async def test_a_handoff_tool_finishing_after_a_barge_in_still_moves_the_call() -> None:
    brain = [[call("handoff_card_services", reason="lost card")], ["Card services, which card?"]]
    async with Harness(["i lost my card", "hello?"], brain, holding_after_s=5) as h:
        await h.idle()
        slow_down_tools(h.cascade.conversation, 0.5)
        await h.say()
        await asyncio.sleep(0.1)  # the handoff tool is running
        await h.windows(SPEECH, 12)  # the caller talks over it
        await h.windows(SILENCE, 25)
        await h.idle()
    assert h.cascade.conversation.agent.name == "card_services"
    assert h.brain.requests[-1].agent == "card_services"
    assert h.agent_turns()[-1].text == "Card services, which card?"


async def test_the_conversation_state_is_saved_after_every_agent_turn() -> None:
    brain = [[call("handoff_card_services", reason="lost card")]]
    async with Harness(["i lost my card"], brain) as h:
        await h.idle()
        assert len(h.saved) == 1  # after the greeting
        await h.say()
        await h.idle()
    state = h.saved[-1]
    assert state.agent == "card_services"
    assert [agent for agent, message in state.log if message["role"] == "user"] == ["concierge"]
    assert state.tools_called == ["handoff_card_services"]
