"""Realtime conversation items as chat messages, truncation arithmetic, and tool resolution."""

from __future__ import annotations

import json

import pytest

from apps.realtime_server.conversation import Item, RealtimeConversation, truncated_transcript
from apps.realtime_server.protocol import FunctionTool, ProtocolError
from apps.realtime_server.tools import RegistryToolResolver, tool_phrases
from registries.loader import load_registry


@pytest.mark.parametrize(
    ("end_ms", "total_ms", "expected"),
    [
        (1000, 1000, "one two three four"),
        (2000, 1000, "one two three four"),
        (0, 1000, ""),
        (500, 1000, "one two"),  # cut at char 9 ("one two t|hree") moves back to the word boundary
        (250, 1000, "one"),
    ],
)
def test_truncation_keeps_the_heard_share_in_whole_words(end_ms: int, total_ms: int, expected: str) -> None:
    assert truncated_transcript("one two three four", end_ms, total_ms) == expected


def test_truncate_item_and_errors() -> None:
    conversation = RealtimeConversation()
    item = Item(
        "a1", "message", role="assistant", content=[{"type": "audio", "transcript": "one two three four"}]
    )
    item.audio_ms = 1000
    conversation.add(item)
    conversation.truncate("a1", 0, 500)
    assert item.text() == "one two" and item.audio_ms == 500
    with pytest.raises(ProtocolError):
        conversation.truncate("missing", 0, 10)
    conversation.add(Item("u1", "message", role="user", content=[{"type": "input_text", "text": "hi"}]))
    with pytest.raises(ProtocolError):
        conversation.truncate("u1", 0, 10)


def test_items_map_to_chat_messages_and_a_trailing_handoff_is_dropped() -> None:
    conversation = RealtimeConversation()
    conversation.add(
        Item(
            "u1",
            "message",
            role="user",
            content=[{"type": "input_audio", "transcript": "my card was stolen"}],
        )
    )
    conversation.add(
        Item("c1", "function_call", call_id="call_1", name="handoff_card_services", arguments="{}")
    )
    conversation.add(
        Item(
            "o1", "function_call_output", call_id="call_1", output=json.dumps({"handoff_to": "card_services"})
        )
    )
    resolver = RegistryToolResolver(lambda: None)
    assert conversation.messages("be nice", resolver.is_handoff) == [
        {"role": "system", "content": "be nice"},
        {"role": "user", "content": "my card was stolen"},
    ]
    conversation.add(Item("c2", "function_call", call_id="call_2", name="get_balance", arguments="{}"))
    conversation.add(Item("o2", "function_call_output", call_id="call_2", output='{"ok": true}'))
    messages = conversation.messages("", resolver.is_handoff)
    assert messages[-2]["tool_calls"][0]["function"]["name"] == "get_balance"
    assert messages[-1] == {"role": "tool", "tool_call_id": "call_2", "content": '{"ok": true}'}


def test_user_items_in_a_row_are_one_request_once_the_reply_between_them_is_deleted() -> None:
    """A caller who went on after the turn end: the client deleted the unheard reply, and the brain (which
    answers the last user message) reads both utterances, as a realtime model does."""

    def said(item_id: str, text: str) -> Item:
        return Item(item_id, "message", role="user", content=[{"type": "input_audio", "transcript": text}])

    conversation = RealtimeConversation()
    conversation.add(said("u1", "I need to report an accident."))
    conversation.add(
        Item("a1", "message", role="assistant", content=[{"type": "audio", "transcript": "Sorry to hear"}])
    )
    conversation.add(said("u2", "I was rear ended yesterday."))
    resolver = RegistryToolResolver(lambda: None)
    assert [m["role"] for m in conversation.messages("", resolver.is_handoff)] == [
        "user",
        "assistant",
        "user",
    ]
    conversation.delete("a1")
    assert conversation.messages("", resolver.is_handoff) == [
        {"role": "user", "content": "I need to report an accident. I was rear ended yesterday."}
    ]


def test_registry_tools_resolve_to_their_specs_and_others_to_schema_only() -> None:
    snapshot = load_registry()
    resolver = RegistryToolResolver(lambda: snapshot)
    known = resolver.resolve(FunctionTool(name="verify_identity", description="whatever"))
    assert known is snapshot.tools["verify_identity"] and known.examples
    handoff_name = next(t.name for t in snapshot.tools_for("concierge", "banking") if t.handoff is not None)
    handoff = resolver.resolve(FunctionTool(name=handoff_name))
    assert handoff.handoff is not None
    assert resolver.is_handoff(handoff_name, "{}")
    custom = resolver.resolve(FunctionTool(name="lookup_weather", description="Weather for a city"))
    assert custom.examples == () and custom.reply is None and custom.description == "Weather for a city"
    with pytest.raises(RuntimeError):
        custom.function()
    assert resolver.resolve(FunctionTool(name="lookup_weather", description="Weather for a city")) is custom
    assert "Weather for a city" in tool_phrases([custom])
