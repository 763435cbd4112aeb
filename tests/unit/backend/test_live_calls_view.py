"""What the console's live-calls list derives from a call record: the masked number and the current agent."""

from __future__ import annotations

from apps.backend.api.v1.live_calls import current_agent, mask_number
from apps.backend.storage.call_store import CallDirection, CallRecord


def record(**fields: object) -> CallRecord:
    return CallRecord(call_id="c1", direction=CallDirection.INBOUND, scenario="banking", **fields)  # type: ignore[arg-type]


def test_a_number_keeps_its_country_code_and_last_four_digits() -> None:
    assert mask_number("+14255550123") == "+1••••••0123"
    assert mask_number("+447700900123") == "+4•••••••0123"
    assert mask_number("5550123") == "5••0123"
    assert mask_number("+123") == "•••"


def test_the_current_agent_is_the_last_handoff_or_the_last_agent_that_spoke() -> None:
    call = record()
    assert current_agent(call, "concierge") == "concierge"  # nothing happened yet: the scenario's start agent
    call.add_event("agent_turn", "concierge:greeting")
    assert current_agent(call, None) == "concierge"
    call.add_event("agent_changed", "concierge -> fraud")
    call.add_event("caller_turn", "speech")
    assert current_agent(call, "concierge") == "fraud"
    call.add_event("agent_cut_short", "card_services:reply tools=lock_card")
    assert current_agent(call, "concierge") == "card_services"


def test_a_session_started_on_a_chosen_agent_shows_it_before_anyone_speaks() -> None:
    assert current_agent(record(agent="fraud"), "concierge") == "fraud"
