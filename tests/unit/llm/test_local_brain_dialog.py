"""The local brain's turn-by-turn behaviour with hand-written histories: the event stream contract, slot filling
across turns, replies after tool results, DTMF, confirmation, switching and giving up, determinism."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from registries.snapshot import RegistrySnapshot
from registries.templates import render_text
from registries.toolstore.catalog import invoke_tool
from registries.toolstore.context import ToolContext
from voice.llm.base import ChatDone, ChatEvent, ChatRequest, Message, TextDelta, ToolCall, Usage
from voice.llm.local_brain import LocalBrain, dtmf_message
from voice.llm.local_brain.replies import GENERIC_DONE
from voice.llm.local_brain.state import STATE_KEY

from .harness import check_contract


class Dialog:
    """A hand-driven conversation with one agent: the test plays the caller and the tools."""

    def __init__(self, brain: LocalBrain, snapshot: RegistrySnapshot, scenario: str, agent: str) -> None:
        self.brain = brain
        self.tools = snapshot.tools_for(agent, scenario)
        self.agent = agent
        self.messages: list[Message] = [{"role": "system", "content": "prompt"}]
        self.scratch: dict[str, Any] = {}
        self._heard: list[str] = []  # the turn's text, appended when the turn ends (as the cascade does)

    def request(self) -> ChatRequest:
        return ChatRequest(
            messages=list(self.messages), tools=self.tools, agent=self.agent, scratch=self.scratch
        )

    async def _run(self) -> list[ChatEvent]:
        events = [e async for e in self.brain.stream(self.request())]
        check_contract(events)
        if text := "".join(e.text for e in events if isinstance(e, TextDelta)):
            self._heard.append(text)
        calls = [e for e in events if isinstance(e, ToolCall)]
        if calls:
            tool_calls = [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                for c in calls
            ]
            self.messages.append({"role": "assistant", "content": None, "tool_calls": tool_calls})
        elif self._heard:
            self.messages.append({"role": "assistant", "content": " ".join(self._heard)})
            self._heard = []
        return events

    async def say(self, text: str) -> list[ChatEvent]:
        self.messages.append({"role": "user", "content": text})
        return await self._run()

    async def result(self, call: ToolCall, body: dict[str, Any]) -> list[ChatEvent]:
        self.messages.append({"role": "tool", "tool_call_id": call.id, "content": json.dumps(body)})
        return await self._run()


def spoken(events: list[ChatEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def calls(events: list[ChatEvent]) -> list[ToolCall]:
    return [e for e in events if isinstance(e, ToolCall)]


def only_call(events: list[ChatEvent]) -> tuple[ToolCall, dict[str, Any]]:
    found = calls(events)
    assert len(found) == 1, events
    return found[0], json.loads(found[0].arguments)


@pytest.fixture
def claims(brain: LocalBrain, snapshot: RegistrySnapshot) -> Dialog:
    return Dialog(brain, snapshot, "insurance", "claims_intake")


@pytest.fixture
def concierge(brain: LocalBrain, snapshot: RegistrySnapshot) -> Dialog:
    return Dialog(brain, snapshot, "banking", "concierge")


LOOKUP_OK = {
    "ok": True,
    "policy_number": "AU-482913",
    "policy_number_spoken": "A U 4 8 2 9 1 3",
    "kind": "auto",
    "holder_first_name": "Jordan",
    "insured_item": "2021 Toyota RAV4",
    "active": True,
    "expires_text": "January 31st, 2027",
    "coverages": ["collision"],
}


async def test_a_claim_is_taken_one_slot_at_a_time_then_filed_with_every_argument(claims: Dialog) -> None:
    first = await claims.say("I had a car accident last tuesday")
    assert not calls(first)
    assert spoken(first) == "What's your policy number?"

    second = await claims.say("a u four eight two nine one three")
    lookup, args = only_call(second)  # the policy is confirmed as soon as the caller gives it
    assert (lookup.name, args) == ("lookup_policy", {"policy_number": "AU-482913"})
    assert spoken(second) == ""

    third = await claims.result(lookup, LOOKUP_OK)
    assert not calls(third)
    assert spoken(third) == (
        "I found Jordan's auto policy A U 4 8 2 9 1 3, covering 2021 Toyota RAV4. "
        "It's active through January 31st, 2027. Where did it happen?"
    )

    fourth = await claims.say("on main street in bellevue")
    file_claim, args = only_call(fourth)
    assert file_claim.name == "file_claim"
    assert args == {
        "policy_number": "AU-482913",
        "incident_type": "auto",
        "incident_date": "2026-11-17",
        "location": "Main Street in Bellevue",
        "description": "I had a car accident last tuesday",
    }

    fifth = await claims.result(
        file_claim,
        {"ok": True, "claim_number": "7001100", "claim_number_spoken": "7 0 0 1 1 0 0", "already_filed": False,
         "next_step": "An adjuster will call you within one business day."},
    )  # fmt: skip
    assert spoken(fifth) == (
        "Your claim is filed. Your claim number is 7 0 0 1 1 0 0. An adjuster will call you within one business day."
    )
    assert claims.scratch[STATE_KEY]["pending"] is None


async def test_a_bare_request_asks_what_happened_when_and_where(claims: Dialog) -> None:
    assert spoken(await claims.say("I need to file a claim")) == "What's your policy number?"
    lookup, _ = only_call(await claims.say("my policy is a u four eight two nine one three"))
    assert spoken(await claims.result(lookup, LOOKUP_OK)).endswith("Can you tell me briefly what happened?")
    assert spoken(await claims.say("a pipe burst in my kitchen")) == "What day did it happen?"
    assert spoken(await claims.say("yesterday")) == "Where did it happen?"
    file_claim, args = only_call(await claims.say("at home, fourteen birch lane in redmond"))
    assert file_claim.name == "file_claim"
    assert args == {
        "policy_number": "AU-482913",
        "description": "A pipe burst in my kitchen",
        "incident_type": "water",
        "incident_date": "2026-11-19",
        "location": "Fourteen Birch Lane in Redmond",
    }


async def test_a_policy_number_that_is_not_found_is_asked_again(claims: Dialog) -> None:
    await claims.say("I had a car accident last tuesday")
    lookup, _ = only_call(await claims.say("a u one two three four five six"))
    missing = "I couldn't find a policy with the number A U 1 2 3 4 5 6. Could you read it to me again?"
    reply = await claims.result(lookup, {"ok": False, "error": {"type": "tool_error", "message": missing}})
    assert spoken(reply) == missing
    again, args = only_call(await claims.say("sorry, it's a u four eight two nine one three"))
    assert (again.name, args) == ("lookup_policy", {"policy_number": "AU-482913"})


async def test_after_two_failed_answers_the_slot_is_given_up(claims: Dialog) -> None:
    await claims.say("I had a car accident last tuesday")
    retry = await claims.say("um I'm not sure")
    assert spoken(retry) == "Sorry, I didn't catch that. What's your policy number?"
    given_up = await claims.say("hmm")
    assert spoken(given_up).startswith("Sorry, I still didn't get the policy number. I can help with ")
    assert claims.scratch[STATE_KEY]["pending"] is None


async def test_a_strong_new_request_while_a_slot_is_asked_switches_tools(claims: Dialog) -> None:
    await claims.say("I had a car accident last tuesday")
    transfer, args = only_call(await claims.say("actually can I talk to a real person"))
    assert transfer.name == "transfer_to_human"
    assert args == {"reason": "Actually can I talk to a real person"}


async def test_cancelling_drops_the_pending_request(claims: Dialog) -> None:
    await claims.say("I had a car accident last tuesday")
    assert spoken(await claims.say("never mind")) == "Okay. What else can I help you with?"
    assert claims.scratch[STATE_KEY]["pending"] is None


async def test_dtmf_digits_fill_the_slot_being_asked(concierge: Dialog) -> None:
    assert (
        spoken(await concierge.say("I want to verify my identity")) == "Can I have your first and last name?"
    )
    asked = spoken(await concierge.say("jordan rivera"))
    assert (
        asked
        == "What are the last four digits of one of your accounts? Or you can tell me your date of birth."
    )
    verify, args = only_call(await concierge.say(dtmf_message("4821#")))
    assert (verify.name, args) == ("verify_identity", {"full_name": "Jordan Rivera", "account_last4": "4821"})


async def test_dtmf_date_of_birth_as_mmddyyyy(concierge: Dialog) -> None:
    await concierge.say("I want to verify my identity")
    await concierge.say("jordan rivera")
    _, args = only_call(await concierge.say("[dtmf] 03141985#"))
    assert args == {"full_name": "Jordan Rivera", "date_of_birth": "1985-03-14"}


async def test_dtmf_without_a_question_is_not_understood(concierge: Dialog) -> None:
    assert spoken(await concierge.say("[dtmf] 5")).startswith("Sorry, I didn't catch that.")


async def test_a_call_that_needs_verification_is_made_once_the_caller_is_verified(concierge: Dialog) -> None:
    balance, args = only_call(await concierge.say("what's my savings balance"))
    assert (balance.name, args) == ("get_balance", {"account_type": "savings"})
    needs = {"ok": False, "error": {"type": "tool_error", "message": "I need to verify your identity first."}}
    asked = await concierge.result(balance, needs)
    assert spoken(asked) == "I need to verify your identity first. Can I have your first and last name?"
    verify, args = only_call(
        await concierge.say("sure, it's jordan rivera, account ending in four eight two one")
    )
    assert (verify.name, args) == ("verify_identity", {"full_name": "Jordan Rivera", "account_last4": "4821"})
    verified = await concierge.result(verify, {"ok": True, "verified": True, "first_name": "Jordan"})
    assert spoken(verified) == "Thank you, Jordan, you're verified."
    again, args = only_call(verified)  # the balance request, in the same reply
    assert (again.name, args) == ("get_balance", {"account_type": "savings"})
    answer = await concierge.result(
        again,
        {"ok": True, "account_type": "savings", "balance_text": "12,800 dollars", "balance_cents": 1280000},
    )
    assert spoken(answer) == "Your savings balance is 12,800 dollars."


async def _verified(concierge: Dialog) -> None:
    verify, _ = only_call(await concierge.say("jordan rivera, account ending in four eight two one"))
    await concierge.result(verify, {"ok": True, "verified": True, "first_name": "Jordan"})


async def test_money_is_never_offered_to_move_before_the_caller_is_verified(concierge: Dialog) -> None:
    asked = await concierge.say("transfer five hundred dollars from checking to savings")
    assert not calls(asked)
    assert spoken(asked) == "Can I have your first and last name?"
    verify, args = only_call(await concierge.say("jordan rivera, account ending in four eight two one"))
    assert verify.name == "verify_identity"
    verified = await concierge.result(verify, {"ok": True, "verified": True, "first_name": "Jordan"})
    assert not calls(verified)
    assert spoken(verified) == (
        "Thank you, Jordan, you're verified. Just to confirm, you'd like to move 500 dollars from your checking "
        "to your savings. Shall I go ahead?"
    )
    transfer, args = only_call(await concierge.say("yes"))
    assert (transfer.name, args["amount"]) == ("transfer_between_accounts", 500)


async def test_money_moves_only_after_a_clear_yes(concierge: Dialog) -> None:
    await _verified(concierge)
    asked = await concierge.say("transfer five hundred dollars from checking to savings")
    assert not calls(asked)
    assert spoken(asked) == (
        "Just to confirm, you'd like to move 500 dollars from your checking to your savings. Shall I go ahead?"
    )
    transfer, args = only_call(await concierge.say("yes"))
    assert (transfer.name, args) == (
        "transfer_between_accounts",
        {"amount": 500, "from_account": "checking", "to_account": "savings"},
    )


async def test_a_no_with_a_correction_asks_again_and_a_plain_no_cancels(concierge: Dialog) -> None:
    await _verified(concierge)
    await concierge.say("move two hundred and fifty dollars into my savings")
    corrected = await concierge.say("no, make it three hundred dollars")
    assert spoken(corrected) == (
        "Just to confirm, you'd like to move 300 dollars from your checking to your savings. Shall I go ahead?"
    )
    cancelled = await concierge.say("no")
    assert not calls(cancelled)
    assert spoken(cancelled) == "Okay, I won't do that. Is there anything else I can help you with?"


async def test_missing_transfer_details_are_asked_one_at_a_time(concierge: Dialog) -> None:
    await _verified(concierge)
    assert spoken(await concierge.say("I need to transfer some money between my accounts")) == (
        "How much would you like to move?"
    )
    assert spoken(await concierge.say("two hundred")) == (
        "Which account should the money come out of, checking or savings?"
    )
    assert spoken(await concierge.say("savings")).startswith(
        "Just to confirm, you'd like to move 200 dollars from your savings to your checking."
    )


async def test_values_from_earlier_calls_are_reused(brain: LocalBrain, snapshot: RegistrySnapshot) -> None:
    dialog = Dialog(brain, snapshot, "insurance", "policy_questions")
    lookup, _ = only_call(await dialog.say("can you pull up policy a u four eight two nine one three"))
    await dialog.result(lookup, LOOKUP_OK)
    coverage, args = only_call(await dialog.say("am I covered for a rental car while mine is in the shop"))
    assert (coverage.name, args) == (
        "get_coverage",
        {"coverage_type": "rental", "policy_number": "AU-482913"},
    )
    assert dialog.scratch[STATE_KEY]["known"] == {"policy_number": "AU-482913"}


async def test_a_reply_is_the_tool_template_rendered_like_the_catalog(
    concierge: Dialog, snapshot: RegistrySnapshot
) -> None:
    balance, args = only_call(await concierge.say("how much is in my savings"))
    output = {"account_type": "savings", "balance_cents": 1280000, "balance_text": "12,800 dollars"}
    reply = await concierge.result(balance, {"ok": True, **output})
    spec = snapshot.tools["get_balance"]
    assert spoken(reply) == render_text(spec.reply, {**output, "args": args}, collapse_whitespace=True)
    assert len([e for e in reply if isinstance(e, TextDelta)]) >= 2  # streamed in word groups


async def test_a_reply_matches_what_the_catalog_speaks_for_a_real_result(concierge: Dialog) -> None:
    end, _ = only_call(await concierge.say("that's everything, goodbye"))
    assert end.name == "end_call"
    spec = next(t for t in concierge.tools if t.name == "end_call")
    result = await invoke_tool(spec, end.arguments, ToolContext("c", "+1", "banking", "concierge"))
    reply = await concierge.result(end, json.loads(result.to_message()))
    assert spoken(reply) == result.spoken == "Thank you for calling. Goodbye."


async def test_an_error_is_said_as_its_caller_safe_message(concierge: Dialog) -> None:
    balance, _ = only_call(await concierge.say("how much is in my savings"))
    message = "I don't see a savings account in your name."
    reply = await concierge.result(
        balance, {"ok": False, "error": {"type": "tool_error", "message": message}}
    )
    assert spoken(reply) == message
    assert isinstance(reply[-1], ChatDone) and reply[-1].finish_reason == "stop"


async def test_a_tool_without_a_reply_template_gets_a_short_confirmation(concierge: Dialog) -> None:
    concierge.messages += [
        {"role": "user", "content": "do the thing"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "custom_tool", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": '{"ok": true}'},
    ]  # fmt: skip
    events = [e async for e in concierge.brain.stream(concierge.request())]
    assert spoken(events) == GENERIC_DONE


async def test_a_handoff_result_gets_no_reply(concierge: Dialog) -> None:
    handoff, args = only_call(await concierge.say("someone stole my wallet"))
    assert (handoff.name, args) == ("handoff_card_services", {"reason": "Someone stole my wallet"})
    after = await concierge.result(
        handoff, {"ok": True, "handoff_to": "card_services", "type": "announced", "share_context": True}
    )
    assert [type(e) for e in after] == [Usage, ChatDone]
    assert after[-1] == ChatDone("stop")


async def test_the_event_stream_contract(concierge: Dialog) -> None:
    text_turn = await concierge.say("banana")
    assert [type(e) for e in text_turn][-2:] == [Usage, ChatDone]
    assert all(isinstance(e, TextDelta) for e in text_turn[:-2])
    assert text_turn[-1] == ChatDone("stop")
    tool_turn = await concierge.say("how much is in my checking")
    assert [type(e) for e in tool_turn] == [ToolCall, Usage, ChatDone]
    assert tool_turn[-1] == ChatDone("tool_calls")
    usage = tool_turn[-2]
    assert isinstance(usage, Usage) and usage.prompt_tokens > 0 and usage.completion_tokens > 0


async def test_tool_call_ids_are_unique_in_the_history(concierge: Dialog) -> None:
    ids = []
    for said in ("how much is in my checking", "and my savings", "read me my recent transactions"):
        call, _ = only_call(await concierge.say(said))
        ids.append(call.id)
        await concierge.result(call, {"ok": True})
    assert ids == ["call_1", "call_2", "call_3"]


async def test_the_same_request_gives_the_same_events(concierge: Dialog) -> None:
    await concierge.say("I want to verify my identity")
    concierge.messages.append({"role": "user", "content": "jordan rivera"})
    before = copy.deepcopy(concierge.scratch)
    first = [e async for e in concierge.brain.stream(concierge.request())]
    after_first = copy.deepcopy(concierge.scratch)
    concierge.scratch.clear()
    concierge.scratch.update(before)
    second = [e async for e in concierge.brain.stream(concierge.request())]
    assert first == second
    assert concierge.scratch == after_first


async def test_scratch_state_is_plain_json(claims: Dialog) -> None:
    await claims.say("I had a car accident last tuesday")
    assert json.loads(json.dumps(claims.scratch)) == claims.scratch


async def test_nothing_new_to_answer_gives_an_empty_reply(concierge: Dialog) -> None:
    concierge.messages.append(
        {"role": "assistant", "content": "You're now with card services. What happened?"}
    )
    events = [e async for e in concierge.brain.stream(concierge.request())]
    assert [type(e) for e in events] == [Usage, ChatDone]


async def test_after_a_discrete_handoff_the_new_agent_acts_on_the_request(
    brain: LocalBrain, snapshot: RegistrySnapshot
) -> None:
    dialog = Dialog(brain, snapshot, "banking", "card_services")
    dialog.messages += [
        {"role": "user", "content": "someone stole my wallet"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1", "type": "function", "function": {
            "name": "handoff_card_services", "arguments": '{"reason": "Someone stole my wallet"}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": json.dumps(
            {"ok": True, "handoff_to": "card_services", "type": "discrete", "share_context": True})},
    ]  # fmt: skip
    events = [e async for e in brain.stream(dialog.request())]
    lock, args = only_call(events)
    assert (lock.name, args) == ("lock_card", {"reason": "stolen"})
    assert lock.id == "call_2"


async def test_keypad_messages_in_the_cascade_wording_are_accepted(concierge: Dialog) -> None:
    await concierge.say("I want to verify my identity")
    await concierge.say("jordan rivera")
    _, args = only_call(await concierge.say("[keypad] 4821"))
    assert args["account_last4"] == "4821"


def test_the_provider_names() -> None:
    from voice.llm.base import ChatModel
    from voice.llm.local_brain import LocalAgentBrain

    assert LocalAgentBrain is LocalBrain
    assert LocalBrain.name == "local-brain"
    assert isinstance(LocalBrain(), ChatModel)
