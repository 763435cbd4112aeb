"""The warm-transfer flow over a scripted TransferLine: what is said to whom, in which order, and that the
caller is never left on hold."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from registries.loader import load_registry
from voice.session.conversation import CallConversation
from voice.session.warm_transfer import TransferOutcome, handover_summary, run_warm_transfer

SNAPSHOT = load_registry()


class ScriptedLine:
    """Records every step; `answers` says whether the human picks up."""

    def __init__(self, *, hold_ok: bool = True, answers: bool = True, complete_ok: bool = True) -> None:
        self.hold_ok, self.answers, self.complete_ok = hold_ok, answers, complete_ok
        self.steps: list[str] = []
        self.outcomes: list[tuple[TransferOutcome, str]] = []
        self.ringing = asyncio.Event()
        self.ring_forever = False

    async def hold_caller(self) -> bool:
        self.steps.append("hold")
        return self.hold_ok

    async def dial_human(self) -> bool:
        self.steps.append("dial")
        self.ringing.set()
        if self.ring_forever:
            await asyncio.Future()
        return self.answers

    async def return_to_caller(self) -> None:
        self.steps.append("unhold")

    async def complete(self) -> bool:
        self.steps.append("complete")
        return self.complete_ok

    def outcome(self, outcome: TransferOutcome, detail: str) -> None:
        self.outcomes.append((outcome, detail))


def conversation(**session: Any) -> CallConversation:
    conv = CallConversation(
        call_id="c",
        caller="+14255550123",
        snapshot=SNAPSHOT,
        scenario=SNAPSHOT.scenarios["banking"],
        agent=SNAPSHOT.start_agent("banking"),
    )
    conv.session.update(session)
    return conv


async def run(line: ScriptedLine, said: list[tuple[str, str]]) -> TransferOutcome:
    async def to_human(text: str) -> None:
        line.steps.append("brief")
        said.append(("human", text))

    async def to_caller(text: str) -> None:
        line.steps.append("tell caller")
        said.append(("caller", text))

    return await run_warm_transfer(
        line,
        summary="summary",
        reason="lost card",
        say_to_human=to_human,
        say_to_caller=to_caller,
        no_answer_text="nobody answered",
    )


async def test_an_answer_gets_the_briefing_then_the_hand_over() -> None:
    line, said = ScriptedLine(), []
    assert await run(line, said) == "transferred"
    assert line.steps == ["hold", "dial", "brief", "complete"]
    assert said == [("human", "summary")]
    assert line.outcomes == [("transferred", "lost card")]


async def test_no_answer_brings_the_caller_back_and_records_a_callback() -> None:
    line, said = ScriptedLine(answers=False), []
    assert await run(line, said) == "callback_needed"
    assert line.steps == ["hold", "dial", "unhold", "tell caller"]
    assert said == [("caller", "nobody answered")]
    assert line.outcomes == [("callback_needed", "lost card")]


async def test_a_refused_hand_over_also_comes_back_to_the_caller() -> None:
    line, said = ScriptedLine(complete_ok=False), []
    assert await run(line, said) == "callback_needed"
    assert line.steps == ["hold", "dial", "brief", "complete", "unhold", "tell caller"]


async def test_a_refused_hold_changes_nothing() -> None:
    line, said = ScriptedLine(hold_ok=False), []
    assert await run(line, said) == "failed"
    assert line.steps == ["hold"] and said == [] and line.outcomes == []


async def test_a_call_ending_while_the_queue_rings_takes_the_caller_off_hold() -> None:
    line, said = ScriptedLine(), []
    line.ring_forever = True
    task = asyncio.create_task(run(line, said))
    await line.ringing.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert line.steps == ["hold", "dial", "unhold"]
    assert line.outcomes == []


def test_the_briefing_says_who_whether_verified_and_what_they_need() -> None:
    verified = handover_summary(
        conversation(customer_id="C-1", customer_first_name="Dana"), "replace a lost debit card"
    )
    assert "Dana" in verified and "have been verified" in verified
    assert "replace a lost debit card" in verified
    unverified = handover_summary(conversation(), "")
    assert "a caller" in unverified and "not been verified" in unverified
    assert "need help" not in unverified  # no reason and nothing said: no made-up need


def test_without_a_reason_the_briefing_uses_the_callers_last_words() -> None:
    conv = conversation()
    conv.add_caller_text("My card was stolen last night")
    assert "My card was stolen last night" in handover_summary(conv, "  ")
