"""How to reach the VoiceLive service (built by the app from its settings; the local realtime server offline)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

DEFAULT_API_VERSION = "2026-07-15"  # the azure-ai-voicelive 1.3 SDK's default


@dataclass(frozen=True)
class VoiceLiveSettings:
    endpoint: str
    """http(s) base URL; the SDK turns it into ws(s) and appends `/voice-live/realtime`."""
    api_key: str
    model: str = "gpt-4o-realtime-preview"
    api_version: str = DEFAULT_API_VERSION
    default_voice: str = "en-US-AvaMultilingualNeural"
    """Used when neither the agent's `voicelive.voice` nor its `voice.name` is set."""
    transcription_model: str = "azure-speech"
    """Caller-side transcription (VoiceLive's own; the transcript's caller turns come from it)."""
    connect_timeout_s: float = 10.0
    """WebSocket connect, and again the wait for `session.updated`."""
    reconnect_attempts: int = 1
    """Reconnects after a dropped socket before the call is ended (no dead air)."""
    response_timeout_s: float = 30.0
    """Bound on waiting for a spoken line (goodbye, apology) to be generated and played."""
    usage_provider: str = "azure-voicelive"
    """The provider name its `response.done` usage is recorded under (the embedded server's is priced at zero)."""
    local_barge_in: bool = True
    """Run our own VAD on the caller audio we forward and silence the agent (StopAudio) on speech onset without
    waiting for the server's `speech_started`; the server's event still confirms the interruption."""
    turn_end_mode: Literal["semantic", "fixed"] = "fixed"
    """Default of agents that set no `speech.turn_end` (the service's TURN_END_MODE): semantic asks the server
    for semantic turn detection (`azure_semantic_vad`), fixed for server VAD with the agent's silence."""
