"""Client event validation, session config merging and the GA <-> beta translation."""

from __future__ import annotations

import pytest

from apps.realtime_server.dialect import client_to_beta, server_to_ga, session_to_ga
from apps.realtime_server.protocol import (
    AudioAppend,
    ProtocolError,
    RealtimeSessionConfig,
    ResponseCreate,
    parse_client_event,
    server_event,
)


def test_events_parse_into_their_models() -> None:
    event = parse_client_event({"type": "input_audio_buffer.append", "audio": "AAAA", "event_id": "e1"})
    assert isinstance(event, AudioAppend) and event.event_id == "e1"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ([1, 2], "invalid_event"),
        ({"type": "nope"}, "invalid_event_type"),
        ({"type": "input_audio_buffer.append"}, "invalid_value"),
        ({"type": "conversation.item.create", "item": {"type": "message", "role": "robot"}}, "invalid_value"),
        ({"type": "conversation.item.truncate", "item_id": "i", "audio_end_ms": -1}, "invalid_value"),
    ],
)
def test_bad_events_name_the_problem(data: object, code: str) -> None:
    with pytest.raises(ProtocolError) as problem:
        parse_client_event(data)
    assert problem.value.code == code


def test_session_update_merges_ignores_unknown_fields_and_rejects_wrong_types() -> None:
    config = RealtimeSessionConfig()
    merged, ignored = config.merged_with(
        {
            "voice": {"type": "azure-standard", "name": "en-US-AvaNeural"},
            "input_audio_noise_reduction": {"type": "azure_deep_noise_suppression"},
            "avatar": {"character": "lisa"},
            "tools": [{"type": "function", "name": "get_balance"}, {"type": "mcp", "server_label": "x"}],
            "turn_detection": None,
        }
    )
    assert merged.voice == "en-US-AvaNeural"
    assert merged.turn_detection is None
    assert [t.name for t in merged.tools] == ["get_balance"]
    assert ignored == ["avatar", "input_audio_noise_reduction"]
    with pytest.raises(ValueError):
        config.merged_with({"input_audio_sampling_rate": "fast"})
    assert RealtimeSessionConfig(output_audio_format="g711_ulaw").output_rate == 8000


def test_pre_generated_message_is_accepted() -> None:
    event = parse_client_event(
        {
            "type": "response.create",
            "response": {
                "pre_generated_assistant_message": {
                    "type": "message",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": "Hello"}],
                }
            },
        }
    )
    assert isinstance(event, ResponseCreate) and event.response is not None
    assert event.response.pre_generated_assistant_message is not None


def test_ga_session_update_becomes_beta() -> None:
    beta = client_to_beta(
        {
            "type": "session.update",
            "session": {
                "type": "realtime",
                "output_modalities": ["text"],
                "audio": {
                    "input": {
                        "format": {"type": "audio/pcmu"},
                        "turn_detection": None,
                        "transcription": {"model": "x"},
                    },
                    "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "marin"},
                },
                "max_output_tokens": 100,
            },
        }
    )
    session = beta["session"]
    assert session == {
        "modalities": ["text"],
        "max_response_output_tokens": 100,
        "input_audio_format": "g711_ulaw",
        "turn_detection": None,
        "input_audio_transcription": {"model": "x"},
        "output_audio_format": "pcm16",
        "voice": "marin",
    }
    with pytest.raises(ProtocolError):
        client_to_beta({"type": "session.update", "session": {"audio": {"input": {"format": "pcm16"}}}})


def test_beta_server_events_become_ga() -> None:
    item = {
        "id": "i1",
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "audio", "transcript": "hi"}],
    }
    added, done = server_to_ga(server_event("conversation.item.created", previous_item_id=None, item=item))
    assert (added["type"], done["type"]) == ("conversation.item.added", "conversation.item.done")
    assert added["item"]["content"][0]["type"] == "output_audio"
    assert item["content"][0]["type"] == "audio"  # the beta event is not modified
    (delta,) = server_to_ga(server_event("response.audio.delta", delta="AA"))
    assert delta["type"] == "response.output_audio.delta"
    ga = session_to_ga(RealtimeSessionConfig(input_audio_sampling_rate=16000).wire())
    assert ga["audio"]["input"]["format"] == {"type": "audio/pcm", "rate": 16000}
    assert ga["output_modalities"] == ["audio"]


def test_semantic_turn_detection_fields_are_typed_and_echoed() -> None:
    detection = {
        "type": "azure_semantic_vad",
        "silence_duration_ms": 600,
        "end_of_utterance_detection": {
            "model": "semantic_detection_v1",
            "threshold_level": "high",
            "timeout_ms": 1300,
        },
        "remove_filler_words": True,
    }
    merged, _ = RealtimeSessionConfig().merged_with({"turn_detection": detection})
    assert merged.turn_detection is not None and merged.turn_detection.semantic
    echoed = merged.wire()["turn_detection"]
    assert echoed["end_of_utterance_detection"] == detection["end_of_utterance_detection"]
    assert echoed["remove_filler_words"] is True
    openai, _ = RealtimeSessionConfig().merged_with(
        {"turn_detection": {"type": "semantic_vad", "eagerness": "high"}}
    )
    assert openai.wire()["turn_detection"]["eagerness"] == "high"
    assert RealtimeSessionConfig().wire()["turn_detection"] == {
        "type": "server_vad",
        "create_response": True,
        "interrupt_response": True,
    }
    with pytest.raises(ValueError):
        RealtimeSessionConfig().merged_with(
            {"turn_detection": {"type": "semantic_vad", "eagerness": "eager"}}
        )
    with pytest.raises(ValueError):
        RealtimeSessionConfig().merged_with(
            {
                "turn_detection": {
                    "type": "azure_semantic_vad",
                    "end_of_utterance_detection": {"timeout_ms": "soon"},
                }
            }
        )
