"""The recorder masks PII in every turn it stores and publishes, by the call scenario's policy or, when the
scenario sets none, the default it was given; what the agent heard stays as it was said."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any

import pytest

from registries.loader import load_registry
from registries.scenariostore.schema import RedactionSpec
from tests.call_doubles import MemoryTranscripts
from voice.session.conversation import CallConversation
from voice.session.recorder import TurnRecorder
from voice.session.redaction import REDACTED, REDACTION_OFF, RedactionPolicy
from voice.transcript import Speaker, ToolCallRecord, TranscriptTurn

SNAPSHOT = load_registry()
SAID = "My name is Jordan Rivera and the last four of my account are four eight two one."
VERIFY = ToolCallRecord(
    id="t1",
    name="verify_identity",
    arguments={"full_name": "Jordan Rivera", "account_last4": "4821"},
    ok=True,
    output={"verified": True, "first_name": "Jordan"},
)


class Observer:
    def __init__(self) -> None:
        self.turns: list[TranscriptTurn] = []
        self.partials: list[tuple[str, str, str | None]] = []

    def on_partial(self, speaker: Speaker, text: str, agent: str | None) -> None:
        self.partials.append((speaker, text, agent))

    async def on_turn(self, turn: TranscriptTurn) -> None:
        self.turns.append(turn)

    async def on_agent_changed(self, previous: str, current: str) -> None:
        pass


def conversation(redaction: RedactionSpec | None = None) -> CallConversation:
    scenario = SNAPSHOT.scenarios["banking"].model_copy(update={"redaction": redaction})
    return CallConversation(
        call_id="call-1",
        caller="+14255550123",
        snapshot=SNAPSHOT,
        scenario=scenario,
        agent=SNAPSHOT.start_agent("banking"),
    )


async def record_call(conv: CallConversation, **kwargs: Any) -> tuple[MemoryTranscripts, Observer]:
    """A caller turn, a keyed entry and the agent's verifying reply, through a recorder."""
    transcripts, observer = MemoryTranscripts(), Observer()
    pending: list[asyncio.Future[Any]] = []

    def own(work: Awaitable[Any]) -> None:
        pending.append(asyncio.ensure_future(work))

    recorder = TurnRecorder(conv, transcripts, observer, own=own, **kwargs)
    recorder.start()
    now = datetime.now(UTC)
    recorder.caller(SAID, kind="speech", agent="concierge", started_at=now, ended_at=now)
    recorder.caller("[dtmf] 4821#", kind="dtmf", agent="concierge", started_at=now, ended_at=now)
    recorder.agent(
        kind="reply",
        agent="concierge",
        full_text="Thank you, Jordan, you're verified.",
        heard_text="Thank you, Jordan, you're verified.",
        interrupted=False,
        started_at=now,
        tool_calls=[VERIFY],
    )
    await recorder.close("test over")
    await asyncio.gather(*pending)
    return transcripts, observer


async def test_stored_and_published_turns_are_masked_by_default() -> None:
    transcripts, observer = await record_call(conversation())
    for turns in (transcripts.turns, observer.turns):
        caller, keyed, agent = turns
        assert caller.text == "My name is Jordan Rivera and the last four of my account are [account]."
        assert keyed.text == "[dtmf]"
        assert agent.tool_calls[0].arguments == {"full_name": REDACTED, "account_last4": REDACTED}
        assert agent.tool_calls[0].ok
        assert "4821" not in "".join(t.model_dump_json() for t in turns)


async def test_a_scenario_that_turns_redaction_off_stores_turns_as_said() -> None:
    transcripts, observer = await record_call(conversation(RedactionSpec(enabled=False)))
    for turns in (transcripts.turns, observer.turns):
        assert [t.text for t in turns[:2]] == [SAID, "[dtmf] 4821#"]
        assert turns[2].tool_calls[0] == VERIFY


async def test_the_default_applies_only_where_the_scenario_sets_nothing() -> None:
    off_by_default, _ = await record_call(conversation(), redaction=REDACTION_OFF)
    assert off_by_default.turns[0].text == SAID
    scenario_on, _ = await record_call(conversation(RedactionSpec(kinds=("dtmf",))), redaction=REDACTION_OFF)
    assert [t.text for t in scenario_on.turns[:2]] == [SAID, "[dtmf]"]
    default_kinds, _ = await record_call(conversation(), redaction=RedactionPolicy(kinds=frozenset({"dtmf"})))
    assert [t.text for t in default_kinds.turns[:2]] == [SAID, "[dtmf]"]


async def test_a_turn_that_cannot_be_masked_is_stored_without_its_words(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*args: object) -> TranscriptTurn:
        raise ValueError("a masking bug")

    monkeypatch.setattr("voice.session.recorder.redact_turn", broken)
    transcripts, observer = await record_call(conversation())
    for turns in (transcripts.turns, observer.turns):
        assert [(t.speaker, t.kind, t.text) for t in turns] == [
            ("caller", "speech", REDACTED),
            ("caller", "dtmf", REDACTED),
            ("agent", "reply", REDACTED),
        ]
        assert turns[2].tool_calls[0].model_dump(include={"name", "ok", "arguments", "output"}) == {
            "name": "verify_identity",
            "ok": True,
            "arguments": REDACTED,
            "output": {},
        }


def test_partial_turns_are_published_masked_and_never_stored() -> None:
    transcripts, observer = MemoryTranscripts(), Observer()
    recorder = TurnRecorder(conversation(), transcripts, observer, own=lambda work: None)
    recorder.partial("caller", "the last four of my account are four eight two one", agent="concierge")
    recorder.partial("caller", "", agent="concierge")  # nothing recognised yet: nothing to show
    recorder.partial("agent", "Thank you, Jordan.", agent="concierge")
    assert observer.partials == [
        ("caller", "the last four of my account are [account]", "concierge"),
        ("agent", "Thank you, Jordan.", "concierge"),
    ]
    assert transcripts.turns == []


def test_a_partial_that_cannot_be_masked_is_not_published(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> str:
        raise ValueError("a masking bug")

    monkeypatch.setattr("voice.session.recorder.redact_text", broken)
    observer = Observer()
    recorder = TurnRecorder(conversation(), None, observer, own=lambda work: None)
    recorder.partial("caller", "my account is four eight two one", agent="concierge")
    assert observer.partials == []
