"""What the agent asked for reaches the recogniser before the caller answers: the brain's `ChatDone.expects`,
through the cascade's listener, to a session that takes it (`ExpectingSession`), and through the fallback
recogniser to whichever provider reads the turn. Sessions without `expect` never hear of it."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from redis.asyncio import Redis

from tests.unit.cascade.fakes import ExpectingStt, Reply, ScriptedStt
from tests.unit.cascade.test_cascade import Harness, call
from voice.errors import ProviderError
from voice.expectation import Expectation
from voice.fallback import FallbackSpeechToText
from voice.stt.base import ExpectingSession, Recognition, SttConfig

LAST_FOUR = Expectation(lengths=(4,), date=True, label="the last four digits or date of birth")


@pytest.fixture(autouse=True)
def _demo_bank(redis: Redis) -> None:
    Harness.redis = redis


async def test_the_replys_expectation_reaches_the_recogniser_and_is_cleared_by_the_next() -> None:
    stt = ExpectingStt(["what's my balance", "jordan rivera four eight two one"])
    brain: list[Reply] = [
        ["Can I have your name and the last four digits?", LAST_FOUR],
        [call("verify_identity", full_name="Jordan Rivera", account_last4="4821")],
        ["Thanks, you're verified."],
    ]
    async with Harness(stt, brain) as h:
        await h.idle()
        assert stt.expected == []  # the greeting asks for nothing in particular: nothing is said
        await h.say()
        await h.idle()
        assert stt.expected == [LAST_FOUR]
        await h.say()
        await h.idle()
        assert stt.expected == [LAST_FOUR, None]  # the tool round's reply asks for nothing


async def test_a_failed_reply_expects_nothing() -> None:
    stt = ExpectingStt(["what's my balance"])
    async with Harness(stt, [RuntimeError("brain down")]) as h:
        await h.idle()
        await h.say()
        await h.idle()
    assert stt.expected == [None]


async def test_a_recogniser_without_expect_is_left_alone() -> None:
    stt = ScriptedStt(["what's my balance"])
    async with Harness(stt, [["Can I have your name?", LAST_FOUR]]) as h:
        await h.idle()
        await h.say()
        await h.idle()
    assert [t.text for t in h.agent_turns()][-1] == "Can I have your name?"


class FailingStt(ExpectingStt):
    name = "failing"

    async def end_of_turn(self) -> Recognition:
        raise ProviderError(self.name, "down")


class Opening:
    """A provider whose sessions are the given ones, in order."""

    def __init__(self, name: str, sessions: Sequence[ScriptedStt]) -> None:
        self.name = name
        self.sessions = list(sessions)

    async def open_session(self, config: SttConfig) -> ScriptedStt:
        return self.sessions.pop(0)

    async def prepare(self, phrases: Sequence[str]) -> None:
        return None


async def test_the_fallback_recogniser_passes_the_expectation_on_and_to_a_provider_taking_over() -> None:
    first, second = FailingStt([]), ExpectingStt(["four eight two one"])
    stt = FallbackSpeechToText([Opening("first", [first]), Opening("second", [second])])
    session = await stt.open_session(SttConfig(16_000))
    assert isinstance(session, ExpectingSession)
    session.expect(LAST_FOUR)
    assert first.expected == [LAST_FOUR]
    session.push(b"\x00\x00")
    heard = await session.end_of_turn()
    assert heard.text == "four eight two one"
    assert second.expected == [LAST_FOUR]  # the provider that took over heard what the agent asked for
