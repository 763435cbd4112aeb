"""The `session.update` payload for the active agent: its prompt, voice, tools and turn taking, in the SDK's
typed models so the wire shape is the SDK's own."""

from __future__ import annotations

import re
from dataclasses import dataclass

from azure.ai.voicelive.models import (
    AudioInputTranscriptionOptions,
    AzureSemanticDetection,
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


def semantic_turn_end(agent: AgentSpec, settings: VoiceLiveSettings) -> bool:
    """The agent's turns end semantically: its `speech.turn_end`, else the service's TURN_END_MODE."""
    return (agent.speech.turn_end or settings.turn_end_mode) == "semantic"


def turn_detection(agent: AgentSpec, settings: VoiceLiveSettings | None = None) -> TurnDetection:
    """The agent's `voicelive.turn_detection` (threshold, prefix padding, silence: default its end-of-turn
    silence), its type set by the agent's turn-end mode (`speech.turn_end`, else the service's TURN_END_MODE):

    - fixed: server VAD (or the semantic type the YAML names explicitly);
    - semantic: Azure's semantic VAD with end-of-utterance detection (or OpenAI's `semantic_vad` when the
      YAML names it): the silence is the pause for an unsure turn and the timeout the longest wait, like the
      cascade's `end_of_turn_silence_ms` + `unfinished_hold_ms`. A `server_vad` type in the YAML (the
      agents' shared default) does not turn semantic detection off: `speech.turn_end: fixed` does.

    The server answers a finished turn by itself (create_response); it only leaves the agent alone when the
    agent may not be interrupted.
    """
    spec = agent.voicelive.turn_detection
    barge_in = agent.speech.barge_in
    interrupt = None if barge_in else False
    semantic = settings is not None and semantic_turn_end(agent, settings)
    kind = spec.type if spec is not None else "server_vad"
    if semantic and kind == "server_vad":
        kind = "azure_semantic_vad"
    silence = (
        spec.silence_duration_ms
        if spec is not None and spec.silence_duration_ms is not None
        else agent.speech.end_of_turn_silence_ms
    )
    threshold = spec.threshold if spec is not None else None
    prefix = spec.prefix_padding_ms if spec is not None else None
    if kind == "server_vad":
        return ServerVad(
            threshold=threshold,
            prefix_padding_ms=prefix,
            silence_duration_ms=silence,
            create_response=True,
            interrupt_response=interrupt,
        )
    if kind == "azure_semantic_vad":
        return AzureSemanticVad(
            threshold=threshold,
            prefix_padding_ms=prefix,
            silence_duration_ms=silence,
            end_of_utterance_detection=AzureSemanticDetection(
                timeout_ms=silence + agent.speech.unfinished_hold_ms
            )
            if semantic
            else None,
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
        turn_detection=turn_detection(agent, settings),
        input_audio_transcription=AudioInputTranscriptionOptions(
            model=settings.transcription_model, language=",".join(agent.speech.languages)
        ),
        tools=tools(conversation),
        tool_choice="auto",
    )
