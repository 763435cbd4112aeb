"""The `session.update` payload for the active agent: its prompt, voice, tools and turn taking, in the SDK's
typed models so the wire shape is the SDK's own."""

from __future__ import annotations

import re
from dataclasses import dataclass

from azure.ai.voicelive.models import (
    AudioInputTranscriptionOptions,
    AzureSemanticVad,
    AzureStandardVoice,
    FunctionTool,
    OpenAIVoice,
    RequestSession,
    ServerVad,
    TurnDetection,
)

from registries.agentstore.schema import AgentSpec
from voice.session.conversation import CallConversation
from voice.voicelive.config import VoiceLiveSettings

_LOCALE_PREFIX = re.compile(r"^[a-z]{2,3}-[A-Z]{2,4}-")


@dataclass(frozen=True)
class AudioFormats:
    """What we declare for the session's audio, given the call's rate."""

    input_rate: int
    output_format: str
    output_rate: int


def audio_formats(call_rate: int) -> AudioFormats:
    """Ask for output at the call's rate where VoiceLive offers it, so no resampling is needed."""
    if call_rate == 16000:
        return AudioFormats(call_rate, "pcm16_16000hz", 16000)
    if call_rate == 8000:
        return AudioFormats(call_rate, "pcm16_8000hz", 8000)
    return AudioFormats(call_rate, "pcm16", 24000)  # plain pcm16 is 24 kHz


_FORMAT_RATES = {"pcm16": 24000, "pcm16_16000hz": 16000, "pcm16_8000hz": 8000}


def output_rate(confirmed_format: str | None, call_rate: int) -> int:
    """The rate of the audio the server will send: what it confirmed, else what we asked for."""
    return _FORMAT_RATES.get(confirmed_format or "", audio_formats(call_rate).output_rate)


def voice_name(agent: AgentSpec, settings: VoiceLiveSettings) -> str:
    return agent.voicelive.voice or agent.voice.name or settings.default_voice


def session_voice(name: str) -> AzureStandardVoice | OpenAIVoice:
    """Azure neural voices ("en-US-AvaMultilingualNeural") vs OpenAI's built-in ones ("alloy")."""
    if "Neural" in name or _LOCALE_PREFIX.match(name):
        return AzureStandardVoice(name=name)
    return OpenAIVoice(name=name)


def turn_detection(agent: AgentSpec) -> TurnDetection:
    """The agent's `voicelive.turn_detection`, defaulting to server VAD with its end-of-turn silence.

    The server answers a finished turn by itself (create_response); it only leaves the agent alone when the
    agent may not be interrupted.
    """
    spec = agent.voicelive.turn_detection
    barge_in = agent.speech.barge_in
    interrupt = None if barge_in else False
    if spec is None:
        return ServerVad(
            silence_duration_ms=agent.speech.end_of_turn_silence_ms,
            create_response=True,
            interrupt_response=interrupt,
        )
    silence = (
        spec.silence_duration_ms
        if spec.silence_duration_ms is not None
        else agent.speech.end_of_turn_silence_ms
    )
    if spec.type == "server_vad":
        return ServerVad(
            threshold=spec.threshold,
            prefix_padding_ms=spec.prefix_padding_ms,
            silence_duration_ms=silence,
            create_response=True,
            interrupt_response=interrupt,
        )
    if spec.type == "azure_semantic_vad":
        return AzureSemanticVad(
            threshold=spec.threshold,
            prefix_padding_ms=spec.prefix_padding_ms,
            silence_duration_ms=silence,
            create_response=True,
            interrupt_response=interrupt,
        )
    # OpenAI's semantic VAD has no SDK class and no threshold/silence knobs (it decides by meaning).
    body: dict[str, object] = {"type": "semantic_vad", "create_response": True}
    if interrupt is not None:
        body["interrupt_response"] = interrupt
    return TurnDetection(body)


def tools(conversation: CallConversation) -> list[FunctionTool]:
    return [
        FunctionTool(name=spec.name, description=spec.description, parameters=spec.parameters)
        for spec in conversation.catalog().values()
    ]


def build_session(
    conversation: CallConversation, settings: VoiceLiveSettings, *, call_rate: int
) -> RequestSession:
    agent = conversation.agent
    formats = audio_formats(call_rate)
    return RequestSession(
        instructions=conversation.system_prompt()["content"],
        voice=session_voice(voice_name(agent, settings)),
        modalities=["text", "audio"],
        input_audio_format="pcm16",
        input_audio_sampling_rate=formats.input_rate,
        output_audio_format=formats.output_format,
        turn_detection=turn_detection(agent),
        input_audio_transcription=AudioInputTranscriptionOptions(
            model=settings.transcription_model, language=",".join(agent.speech.languages)
        ),
        tools=tools(conversation),
        tool_choice="auto",
    )
