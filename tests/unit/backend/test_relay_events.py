"""The relay's client-event validation (both dialects; bad input named, never forwarded) and its upstream
choice (the key goes on the upgrade request only)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from websockets.frames import Close

from apps.backend.realtime import BackendRealtime
from apps.backend.relay.client_events import (
    MAX_EVENT_CHARS,
    ClientEventError,
    SessionUpdate,
    parse_client_event,
    server_owned_fields,
)
from apps.backend.relay.limits import RelayPolicy, TokenBucket
from apps.backend.relay.upstream import close_reason, relay_target
from apps.backend.settings import Settings


def parsed(event: dict[str, Any]) -> Any:
    return parse_client_event(json.dumps(event))


@pytest.mark.parametrize(
    "event",
    [
        {"type": "input_audio_buffer.append", "audio": base64.b64encode(b"\0\0" * 480).decode()},
        {"type": "input_audio_buffer.commit", "event_id": "a"},
        {"type": "input_audio_buffer.clear"},
        {"type": "output_audio_buffer.clear"},
        {"type": "session.update", "session": {"type": "realtime", "audio": {"output": {"voice": "marin"}}}},
        {
            "type": "conversation.item.create",
            "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]},
        },
        {"type": "conversation.item.truncate", "item_id": "i1", "content_index": 0, "audio_end_ms": 1500},
        {"type": "conversation.item.delete", "item_id": "i1"},
        {"type": "response.create", "response": {"output_modalities": ["text"]}},
        {"type": "response.cancel"},
    ],
)
def test_protocol_events_of_both_dialects_are_accepted_and_forwarded_as_sent(event: dict[str, Any]) -> None:
    model, raw = parsed(event)
    assert model.type == event["type"]
    assert raw == event


@pytest.mark.parametrize(
    ("text", "code", "needle"),
    [
        ("{nope", "invalid_json", "not JSON"),
        ("[1, 2]", "invalid_event", "JSON object"),
        ('{"type": "session.delete"}', "unknown_event", "session.delete"),
        ('{"event_id": "x"}', "unknown_event", "unknown"),
        ('{"type": "input_audio_buffer.append", "audio": "%%%"}', "invalid_event", "base64"),
        (
            '{"type": "conversation.item.truncate", "item_id": "i", "audio_end_ms": -5}',
            "invalid_event",
            "audio_end_ms",
        ),
        ('{"type": "response.cancel", "surprise": 1}', "invalid_event", "surprise"),
        (
            '{"type": "conversation.item.create", "item": {"type": "function_call_output", "call_id": "c", "output": ""}}',
            "server_owned",
            "tools run on the server",
        ),
        (
            '{"type": "conversation.item.create", "item": {"type": "message", "role": "tool", "content": []}}',
            "invalid_event",
            "item",
        ),
        (
            '{"type": "input_audio_buffer.append", "audio": "' + "A" * MAX_EVENT_CHARS + '"}',
            "event_too_large",
            "at most",
        ),
    ],
)
def test_bad_events_are_refused_with_a_code_and_a_reason(text: str, code: str, needle: str) -> None:
    with pytest.raises(ClientEventError) as caught:
        parse_client_event(text)
    assert caught.value.code == code
    assert needle in caught.value.message, caught.value.message


def test_the_event_id_of_a_refused_event_is_given_back() -> None:
    with pytest.raises(ClientEventError) as caught:
        parse_client_event('{"type": "what.ever", "event_id": "evt_7"}')
    assert caught.value.event_id == "evt_7"


def test_instructions_and_tools_belong_to_the_agent() -> None:
    model, _ = parsed(
        {"type": "session.update", "session": {"instructions": "x", "tools": [], "voice": "alloy"}}
    )
    assert isinstance(model, SessionUpdate)
    assert server_owned_fields(model) == ["instructions", "tools"]


def realtime(internal_key: str = "internal-key-1") -> BackendRealtime:
    return BackendRealtime(engine=None, auth=None, secrets=None, voicelive=None, internal_key=internal_key)  # type: ignore[arg-type]


def test_the_upstream_is_chosen_by_settings_and_its_key_only_rides_on_headers() -> None:
    base = {"_env_file": None, "port": 8123}
    embedded = relay_target(Settings(**base), realtime())
    assert embedded.url == "ws://127.0.0.1:8123/v1/realtime?model=gpt-realtime"
    assert embedded.headers == {"Authorization": "Bearer internal-key-1"}
    openai = relay_target(Settings(**base, relay_upstream="openai", relay_api_key="sk-123"), realtime())
    assert openai.url == "wss://api.openai.com/v1/realtime?model=gpt-realtime" and openai.dialect == "ga"
    assert openai.headers == {"Authorization": "Bearer sk-123"}
    azure = relay_target(
        Settings(
            **base,
            relay_upstream="azure-openai",
            azure_openai_endpoint="https://contoso.openai.azure.com/",
            azure_openai_api_key="az-456",
            relay_model="my-realtime",
        ),
        realtime(),
    )
    assert azure.url == (
        "wss://contoso.openai.azure.com/openai/realtime?api-version=2025-04-01-preview&deployment=my-realtime"
    )
    assert azure.headers == {"api-key": "az-456"} and azure.dialect == "beta"
    voicelive = relay_target(
        Settings(
            **base,
            relay_upstream="voicelive",
            azure_voicelive_endpoint="https://vl.example",
            azure_voicelive_api_key="vl-789",
        ),
        realtime(),
    )
    assert voicelive.url.startswith("wss://vl.example/voice-live/realtime?api-version=")
    for target in (embedded, openai, azure, voicelive):
        secret = next(iter(target.headers.values())).removeprefix("Bearer ")
        assert (
            secret not in target.url
            and secret not in json.dumps(target.describe())
            and secret not in repr(target)
        )


def test_an_upstream_without_its_key_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="RELAY_API_KEY"):
        relay_target(Settings(_env_file=None, relay_upstream="openai"), realtime())
    with pytest.raises(ValueError, match="AZURE_VOICELIVE_ENDPOINT"):
        relay_target(Settings(_env_file=None, relay_upstream="voicelive"), realtime())


@pytest.mark.parametrize(
    ("received", "sent", "reason"),
    [
        (
            None,
            Close(1011, "keepalive ping timeout"),
            "no heartbeat from the upstream (keepalive ping timeout)",
        ),
        (None, None, "upstream connection lost (no close frame)"),
        (None, Close(1000, ""), "upstream connection lost (no close frame)"),
        (Close(1000, ""), Close(1000, ""), "upstream closed (1000)"),
        (Close(1008, "policy"), None, "upstream closed (1008 policy)"),
    ],
)
def test_why_an_upstream_ended_is_read_from_its_close_frames(
    received: Close | None, sent: Close | None, reason: str
) -> None:
    assert close_reason(received, sent) == reason


def test_the_token_bucket_allows_a_burst_then_refills_at_its_rate() -> None:
    now = [0.0]
    bucket = TokenBucket(rate=10.0, burst=3.0, clock=lambda: now[0])
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    now[0] = 0.1  # one token back
    assert [bucket.take() for _ in range(2)] == [True, False]
    assert RelayPolicy(first_backoff_s=0.25, max_backoff_s=1.0).backoff_s(1) == 0.25
    assert RelayPolicy(first_backoff_s=0.25, max_backoff_s=1.0).backoff_s(5) == 1.0
