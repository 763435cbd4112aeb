"""The backend's realtime side: the embedded realtime server it serves at `/v1/realtime` and
`/voice-live/realtime`, the client secrets `POST /api/v1/realtime/sessions` mints, and where this process's
VoiceLive calls connect (Azure AI VoiceLive when configured, else that embedded server over loopback).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from apps.backend.registry.holder import RegistryHolder
from apps.backend.settings import Settings
from apps.realtime_server.auth import ClientSecretSigner, RealtimeAuth
from apps.realtime_server.engine import RealtimeEngine
from apps.realtime_server.tools import RegistryToolResolver
from voice.audio.turn_batcher import TurnScorer
from voice.audio.vad_batcher import VadBatcher
from voice.speech_cascade.providers import CascadeProviders
from voice.voicelive.config import VoiceLiveSettings


@dataclass(frozen=True)
class BackendRealtime:
    engine: RealtimeEngine
    auth: RealtimeAuth
    secrets: ClientSecretSigner
    voicelive: VoiceLiveSettings
    internal_key: str = ""
    """Lets this process's own clients (the realtime relay) into the embedded server; never leaves it."""


def build_realtime(
    settings: Settings,
    providers: CascadeProviders,
    vad: VadBatcher,
    registry: RegistryHolder,
    turn_model: TurnScorer | None = None,
) -> BackendRealtime:
    """The embedded server runs on the same provider chains as the cascade (so with Azure Speech or Azure
    OpenAI configured it is those behind the realtime protocol), on the live registry's tools."""
    key = settings.realtime_secret_key
    signer = ClientSecretSigner(key.get_secret_value().encode() if key else secrets.token_bytes(32))
    # Our own VoiceLive calls get in with a key that never leaves the process; outside clients need
    # REALTIME_API_KEY or a minted client secret.
    internal_key = secrets.token_urlsafe(32)
    keys = [internal_key]
    if settings.realtime_api_key is not None:
        keys.append(settings.realtime_api_key.get_secret_value())
    engine = RealtimeEngine(
        stt=providers.stt,
        tts=providers.tts,
        brain=providers.llm,
        vad=vad,
        tools=RegistryToolResolver(lambda: registry.current),
        default_voice=settings.tts_voice,
        turn_model=turn_model,
    )
    if settings.azure_voicelive_endpoint and settings.azure_voicelive_api_key is not None:
        endpoint, api_key = (
            settings.azure_voicelive_endpoint,
            settings.azure_voicelive_api_key.get_secret_value(),
        )
        default_voice = settings.azure_voicelive_voice
    else:  # our own server speaks with the embedded TTS, which knows no Azure voice names
        endpoint, api_key = loopback_base_url(settings), internal_key
        default_voice = settings.tts_voice
    voicelive = VoiceLiveSettings(
        endpoint=endpoint,
        api_key=api_key,
        model=settings.azure_voicelive_model,
        api_version=settings.azure_voicelive_api_version,
        default_voice=default_voice,
        usage_provider="azure-voicelive" if endpoint != loopback_base_url(settings) else "embedded-realtime",
        local_barge_in=settings.voicelive_local_barge_in,
        turn_end_mode=(
            settings.turn_end_mode
            if settings.voicelive_turn_end_mode == "inherit"
            else settings.voicelive_turn_end_mode
        ),
    )
    return BackendRealtime(
        engine=engine,
        auth=RealtimeAuth(keys, signer),
        secrets=signer,
        voicelive=voicelive,
        internal_key=internal_key,
    )


def loopback_base_url(settings: Settings) -> str:
    """How this process reaches its own HTTP server."""
    host = settings.host
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.port}"
