"""The `session.update` payload an agent's YAML turns into (as the SDK puts it on the wire)."""

from __future__ import annotations

from typing import Any

import pytest
from azure.ai.voicelive._utils.model_base import _deserialize
from azure.ai.voicelive.models import AzureSemanticDetection, AzureSemanticVad, RequestSession

from registries.agentstore.schema import SpeechSpec, TurnDetectionSpec, VoiceLiveSpec, VoiceSpec
from registries.loader import load_registry
from voice.session.conversation import CallConversation
from voice.voicelive.config import VoiceLiveSettings
from voice.voicelive.session_config import build_session, output_rate, session_voice

SNAPSHOT = load_registry()
SETTINGS = VoiceLiveSettings(
    endpoint="http://127.0.0.1:1", api_key="k", default_voice="en-US-AvaMultilingualNeural"
)


def conversation(**agent_update: Any) -> CallConversation:
    agent = SNAPSHOT.start_agent("banking")
    if agent_update:
        agent = agent.model_copy(update=agent_update)
    return CallConversation(
        call_id="c", caller="+1", snapshot=SNAPSHOT, scenario=SNAPSHOT.scenarios["banking"], agent=agent
    )


def wire(conv: CallConversation, rate: int = 16000) -> dict[str, Any]:
    return build_session(conv, SETTINGS, call_rate=rate).as_dict()


def test_instructions_are_the_rendered_prompt_and_tools_come_from_the_catalog() -> None:
    conv = conversation()
    session = wire(conv)
    assert session["instructions"] == conv.system_prompt()["content"]
    names = {tool["name"] for tool in session["tools"]}
    assert names == set(conv.catalog())
    assert "verify_identity" in names and "handoff_card_services" in names
    verify = next(t for t in session["tools"] if t["name"] == "verify_identity")
    assert verify["type"] == "function" and verify["parameters"]["type"] == "object" and verify["description"]
    assert session["tool_choice"] == "auto"
    assert session["modalities"] == ["text", "audio"]
    assert session["input_audio_transcription"]["model"] == "azure-speech"


@pytest.mark.parametrize(("rate", "output_format"), [(16000, "pcm16_16000hz"), (24000, "pcm16")])
def test_audio_formats_follow_the_call_rate(rate: int, output_format: str) -> None:
    session = wire(conversation(), rate)
    assert session["input_audio_format"] == "pcm16"
    assert session["input_audio_sampling_rate"] == rate
    assert session["output_audio_format"] == output_format


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("en-US-AvaMultilingualNeural", {"type": "azure-standard", "name": "en-US-AvaMultilingualNeural"}),
        ("en-GB-Sonia", {"type": "azure-standard", "name": "en-GB-Sonia"}),
        ("alloy", {"type": "openai", "name": "alloy"}),
    ],
)
def test_voice_names_map_to_azure_or_openai_voices(name: str, expected: dict[str, str]) -> None:
    assert session_voice(name).as_dict() == expected


def test_voice_precedence_voicelive_then_agent_voice_then_default() -> None:
    assert wire(conversation())["voice"]["name"] == "en-US-AvaMultilingualNeural"  # default
    tts_voice = conversation(voice=VoiceSpec(name="en-US-JennyNeural"))
    assert wire(tts_voice)["voice"] == {"type": "azure-standard", "name": "en-US-JennyNeural"}
    both = conversation(voice=VoiceSpec(name="en-US-JennyNeural"), voicelive=VoiceLiveSpec(voice="verse"))
    assert wire(both)["voice"] == {"type": "openai", "name": "verse"}


def test_default_turn_detection_is_server_vad_with_the_agents_silence() -> None:
    conv = conversation(voicelive=VoiceLiveSpec(), speech=SpeechSpec(end_of_turn_silence_ms=750))
    assert wire(conv)["turn_detection"] == {
        "type": "server_vad",
        "silence_duration_ms": 750,
        "create_response": True,
    }


def test_turn_detection_overrides_from_yaml() -> None:
    spec = TurnDetectionSpec(type="azure_semantic_vad", threshold=0.4, prefix_padding_ms=200)
    conv = conversation(voicelive=VoiceLiveSpec(turn_detection=spec))
    assert wire(conv)["turn_detection"] == {
        "type": "azure_semantic_vad",
        "threshold": 0.4,
        "prefix_padding_ms": 200,
        "silence_duration_ms": 600,
        "create_response": True,
    }
    semantic = conversation(voicelive=VoiceLiveSpec(turn_detection=TurnDetectionSpec(type="semantic_vad")))
    assert wire(semantic)["turn_detection"] == {"type": "semantic_vad", "create_response": True}


def test_an_agent_without_barge_in_is_not_interrupted_by_the_server() -> None:
    conv = conversation(speech=SpeechSpec(barge_in=False))
    detection = wire(conv)["turn_detection"]
    assert detection["interrupt_response"] is False and detection["type"] == "server_vad"


@pytest.mark.parametrize(
    ("confirmed", "call_rate", "rate"),
    [("pcm16_16000hz", 16000, 16000), ("pcm16", 16000, 24000), (None, 16000, 16000), (None, 24000, 24000)],
)
def test_output_rate_is_what_the_server_confirmed(confirmed: str | None, call_rate: int, rate: int) -> None:
    assert output_rate(confirmed, call_rate) == rate


SEMANTIC = VoiceLiveSettings(endpoint="http://127.0.0.1:1", api_key="k", turn_end_mode="semantic")


def test_a_semantic_agent_asks_for_azure_semantic_vad_with_end_of_utterance_detection() -> None:
    conv = conversation(
        speech=SpeechSpec(turn_end="semantic", end_of_turn_silence_ms=600, unfinished_hold_ms=700)
    )
    detection = wire(conv)["turn_detection"]
    assert detection == {
        "type": "azure_semantic_vad",
        "silence_duration_ms": 600,
        "end_of_utterance_detection": {"model": "semantic_detection_v1", "timeout_ms": 1300},
        "create_response": True,
    }
    # what the real service gets is valid per the SDK's models: it reads back as the typed classes
    parsed = _deserialize(RequestSession, {"turn_detection": detection}).turn_detection
    assert isinstance(parsed, AzureSemanticVad)
    assert isinstance(parsed.end_of_utterance_detection, AzureSemanticDetection)
    assert parsed.end_of_utterance_detection.timeout_ms == 1300


def test_the_services_turn_end_mode_applies_to_agents_that_set_none() -> None:
    conv = conversation()
    assert conv.agent.speech.turn_end is None
    session = build_session(conv, SEMANTIC, call_rate=16000).as_dict()
    assert session["turn_detection"]["type"] == "azure_semantic_vad"
    assert wire(conv)["turn_detection"]["type"] == "server_vad"  # SETTINGS: the fixed default


def test_a_fixed_agent_stays_on_server_vad_under_a_semantic_service() -> None:
    conv = conversation(speech=SpeechSpec(turn_end="fixed", end_of_turn_silence_ms=700))
    session = build_session(conv, SEMANTIC, call_rate=16000).as_dict()
    assert session["turn_detection"] == {
        "type": "server_vad",
        "silence_duration_ms": 600,  # the agents' shared voicelive.turn_detection default
        "create_response": True,
    }


def test_a_semantic_agent_keeps_its_yaml_knobs_and_a_named_semantic_type() -> None:
    spec = TurnDetectionSpec(type="server_vad", silence_duration_ms=450, threshold=0.6)
    semantic = SpeechSpec(turn_end="semantic", unfinished_hold_ms=500)
    conv = conversation(voicelive=VoiceLiveSpec(turn_detection=spec), speech=semantic)
    assert wire(conv)["turn_detection"] == {
        "type": "azure_semantic_vad",
        "threshold": 0.6,
        "silence_duration_ms": 450,
        "end_of_utterance_detection": {"model": "semantic_detection_v1", "timeout_ms": 950},
        "create_response": True,
    }
    openai = VoiceLiveSpec(turn_detection=TurnDetectionSpec(type="semantic_vad"))
    assert wire(conversation(voicelive=openai, speech=semantic))["turn_detection"] == {
        "type": "semantic_vad",
        "create_response": True,
    }


def test_a_semantic_agent_without_barge_in_is_not_interrupted() -> None:
    conv = conversation(speech=SpeechSpec(turn_end="semantic", barge_in=False))
    assert wire(conv)["turn_detection"]["interrupt_response"] is False
