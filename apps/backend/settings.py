"""Service settings, read from the environment (and `.env`). Every variable is listed in `.env.example`
and in the README's configuration table; keep the three in step."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from apps import loopback_acs


class OrchestratorKind(StrEnum):
    CASCADE = "cascade"
    VOICELIVE = "voicelive"


class AcsAudioFormat(StrEnum):
    PCM16K = "pcm16k"
    PCM24K = "pcm24k"

    @property
    def sample_rate(self) -> int:
        return 16000 if self is AcsAudioFormat.PCM16K else 24000

    @property
    def wire_name(self) -> str:
        """The value ACS expects in mediaStreamingOptions.audioFormat."""
        return "pcm16KMono" if self is AcsAudioFormat.PCM16K else "pcm24KMono"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # --- service -------------------------------------------------------------------------------
    host: str = Field("127.0.0.1", description="Interface the HTTP server binds to.")
    port: int = Field(8000, ge=0, le=65535, description="HTTP port (0 picks a free one).")
    public_base_url: str = Field(
        "",
        description="Base URL ACS reaches us at; callback and media URLs are built from it "
        "(ws/wss follows http/https). Empty: http://HOST:PORT.",
    )
    log_level: str = Field("INFO", description="Root log level.")
    log_format: Literal["auto", "json", "text"] = Field(
        "auto", description="json (one object per line), text, or auto (text on a terminal, else json)."
    )
    otel_exporter_otlp_endpoint: str | None = Field(
        None,
        description="OTLP/HTTP collector base URL (e.g. http://collector:4318); set: one span per agent reply "
        "with its latency parts is exported to <url>/v1/traces. Unset: no tracing.",
    )
    otel_service_name: str = Field("switchboard", description="service.name on exported spans.")

    # --- telephony (ACS) -----------------------------------------------------------------------
    acs_connection_string: SecretStr | None = Field(
        None,
        description="endpoint=...;accesskey=... of the ACS resource. Unset: the local ACS simulator "
        f"at {loopback_acs.simulator_endpoint()}.",
    )
    acs_audio_format: AcsAudioFormat = Field(AcsAudioFormat.PCM16K, description="pcm16k or pcm24k.")
    acs_jwks_url: str | None = Field(
        None,
        description="JWKS of the ACS callback signer. When set, every callback and media upgrade must carry "
        "a valid ACS JWT. Unset with the simulator: the simulator's JWKS.",
    )
    acs_jwt_issuer: str = Field(loopback_acs.SIMULATOR_ISSUER, description="Expected `iss` of ACS JWTs.")
    acs_resource_id: str | None = Field(
        None, description="Expected `aud` of ACS JWTs: the ACS resource's immutable id."
    )
    media_token_secret: SecretStr | None = Field(
        None,
        description="Key that signs the per-call media WebSocket token. Unset: random per process "
        "(fine for one replica; replicas must share one).",
    )
    media_token_ttl_seconds: int = Field(
        120, gt=0, description="How long ACS has to open the media WebSocket after we answer."
    )

    # --- admin ---------------------------------------------------------------------------------
    admin_api_key: SecretStr | None = Field(
        None, description="Key for admin endpoints (header `x-api-key`). Unset: admin endpoints answer 503."
    )

    # --- state ---------------------------------------------------------------------------------
    redis_url: str | None = Field(None, description="Redis URL. Unset: an embedded valkey server is started.")
    call_record_ttl_seconds: int = Field(86400, gt=0, description="How long call records live in Redis.")
    redis_socket_timeout_seconds: float = Field(
        2.0,
        gt=0,
        le=30,
        description="Longest wait for one Redis command before it fails (calls never wait on Redis; this "
        "bounds API requests, call start and the background writers when Redis hangs).",
    )

    # --- conversation --------------------------------------------------------------------------
    orchestrator: OrchestratorKind = Field(
        OrchestratorKind.CASCADE,
        description="cascade (our VAD/STT/LLM/TTS pipeline) or voicelive (a realtime speech-to-speech session); "
        "a scenario's own `orchestrator:` wins.",
    )
    default_scenario: str = Field("banking", description="Scenario for calls with no number mapping.")
    scenario_numbers: dict[str, str] = Field(
        default_factory=dict,
        description='JSON {"+E164": "scenario"}: dialed number -> scenario; wins over scenario phone_numbers.',
    )
    agents_dir: Path | None = Field(
        None, description="Extra directory of agent/scenario YAML. Unset: the shipped registries only."
    )
    tts_voice: str = Field("en-us", description="espeak-ng voice of the embedded TTS.")
    transfer_target_number: str | None = Field(
        None,
        pattern=r"^\+[1-9]\d{1,14}$",
        description="E.164 number of the human queue that transfer_to_human sends callers to. Unset: the "
        "agent says it cannot transfer.",
    )
    idle_reprompt_seconds: float = Field(
        8.0, gt=0, description="Caller silence before the agent asks whether they are still there."
    )
    idle_hang_up_seconds: float = Field(
        20.0, gt=0, description="Caller silence before the agent says goodbye and hangs up."
    )
    cosmos_endpoint: str | None = Field(
        None,
        description="Azure Cosmos DB endpoint for transcripts. Unset: the embedded SQLite store (TRANSCRIPTS_DB).",
    )
    cosmos_key: SecretStr | None = Field(None, description="Cosmos DB account key.")
    cosmos_database: str = Field("switchboard", description="Cosmos database (created if missing).")
    cosmos_container: str = Field(
        "transcripts", description="Cosmos container (created if missing, partition key /call_id)."
    )
    cosmos_verify_ssl: bool = Field(True, description="Verify Cosmos TLS (false only for a local emulator).")
    transcript_spool_path: Path = Field(
        Path("var/transcript-spool.db"),
        description="Durable local spool every Cosmos write goes through first (one file per worker process, "
        "stable across restarts).",
    )
    transcripts_db: Path = Field(
        Path("var/transcripts.sqlite3"),
        description="SQLite file for call transcripts (the embedded transcript store).",
    )

    # --- speech (Azure Speech; unset: embedded pocketsphinx STT and espeak-ng TTS) ---------------
    azure_speech_key: SecretStr | None = Field(
        None, description="Azure Speech key. Set: Azure STT/TTS first, embedded ones as fallback."
    )
    azure_speech_region: str | None = Field(None, description="Azure Speech region, e.g. eastus.")
    azure_speech_host: str | None = Field(
        None,
        description="Azure Speech host instead of a region (a container or a private endpoint, "
        "e.g. ws://localhost:5000).",
    )
    azure_speech_voice: str = Field(
        "en-US-AvaMultilingualNeural", description="Azure TTS voice for agents that name none."
    )

    # --- language model (unset: the embedded local agent brain) ---------------------------------
    azure_openai_endpoint: str | None = Field(None, description="https://<resource>.openai.azure.com")
    azure_openai_api_key: SecretStr | None = Field(None, description="Azure OpenAI key.")
    azure_openai_api_version: str = Field("2024-10-21", description="Azure OpenAI API version.")
    azure_openai_deployment: str | None = Field(
        None, description="Chat deployment for agents whose YAML names none."
    )
    openai_base_url: str | None = Field(
        None, description="OpenAI-compatible endpoint (e.g. https://api.openai.com/v1), used after Azure."
    )
    openai_api_key: SecretStr | None = Field(None, description="Key for OPENAI_BASE_URL.")
    openai_model: str = Field("gpt-4o-mini", description="Model for OPENAI_BASE_URL.")
    llm_first_token_timeout_seconds: float = Field(
        4.0, gt=0, description="A chat provider silent this long falls back to the next one."
    )

    # --- VoiceLive (unset: the embedded realtime server this process serves at /voice-live/realtime) ---
    azure_voicelive_endpoint: str | None = Field(
        None,
        description="Azure AI VoiceLive endpoint, e.g. https://<resource>.services.ai.azure.com. Unset: calls with "
        "ORCHESTRATOR=voicelive use this service's own embedded realtime server.",
    )
    azure_voicelive_api_key: SecretStr | None = Field(None, description="VoiceLive key (header api-key).")
    azure_voicelive_model: str = Field("gpt-realtime", description="VoiceLive model (query `model`).")
    azure_voicelive_api_version: str = Field("2026-07-15", description="VoiceLive api-version.")
    azure_voicelive_voice: str = Field(
        "en-US-AvaMultilingualNeural",
        description="VoiceLive voice for agents that name none (Azure neural names, or OpenAI names like alloy).",
    )
    realtime_api_key: SecretStr | None = Field(
        None,
        description="Key clients present to the embedded realtime server (/v1/realtime, /voice-live/realtime). "
        "Unset: only this process's own VoiceLive calls and minted client secrets get in.",
    )
    realtime_secret_key: SecretStr | None = Field(
        None,
        description="Key that signs the short-lived client secrets of POST /api/v1/realtime/sessions. Unset: random "
        "per process (replicas must share one).",
    )

    @model_validator(mode="after")
    def _voicelive_key(self) -> Settings:
        if self.azure_voicelive_endpoint and self.azure_voicelive_api_key is None:
            raise ValueError("AZURE_VOICELIVE_ENDPOINT is set but AZURE_VOICELIVE_API_KEY is not")
        if self.azure_voicelive_endpoint and urlsplit(self.azure_voicelive_endpoint).scheme not in (
            "http",
            "https",
            "ws",
            "wss",
        ):
            raise ValueError("AZURE_VOICELIVE_ENDPOINT must be an http(s) URL")
        return self

    @model_validator(mode="after")
    def _speech_location(self) -> Settings:
        if self.azure_speech_key is not None and (self.azure_speech_region is None) == (
            self.azure_speech_host is None
        ):
            raise ValueError(
                "with AZURE_SPEECH_KEY set exactly one of AZURE_SPEECH_REGION or AZURE_SPEECH_HOST"
            )
        return self

    @field_validator("public_base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        if value and urlsplit(value).scheme not in ("http", "https"):
            raise ValueError("PUBLIC_BASE_URL must start with http:// or https://")
        return value.rstrip("/")

    # --- derived -------------------------------------------------------------------------------
    @property
    def uses_acs_simulator(self) -> bool:
        return self.acs_connection_string is None

    @property
    def effective_public_base_url(self) -> str:
        return self.public_base_url or f"http://{self.host}:{self.port}"

    @property
    def effective_acs_connection_string(self) -> str:
        if self.acs_connection_string is not None:
            return self.acs_connection_string.get_secret_value()
        return loopback_acs.simulator_connection_string()

    @property
    def effective_acs_jwks_url(self) -> str | None:
        if self.acs_jwks_url:
            return self.acs_jwks_url
        if self.uses_acs_simulator:
            return loopback_acs.simulator_endpoint().rstrip("/") + loopback_acs.JWKS_PATH
        return None

    @property
    def effective_acs_resource_id(self) -> str | None:
        if self.acs_resource_id:
            return self.acs_resource_id
        return loopback_acs.SIMULATOR_RESOURCE_ID if self.uses_acs_simulator else None

    @property
    def websocket_base_url(self) -> str:
        base = self.effective_public_base_url
        return (
            "wss://" + base[len("https://") :]
            if base.startswith("https://")
            else "ws://" + base[len("http://") :]
        )
