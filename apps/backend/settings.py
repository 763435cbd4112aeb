"""Service settings, read from the environment (and `.env`). Every variable is listed in `.env.example`
and in the README's configuration table; keep the three in step."""

from __future__ import annotations

import ipaddress
import logging
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from apps import loopback_acs
from apps.backend.acs.connection_string import AcsConnectionString
from apps.backend.setting_values import (
    AcsAudioFormat,
    AcsJwtSource,
    EventGridAuthMode,
)
from apps.backend.settings_sections import SettingsSections

# Where real ACS publishes the issuer and signing keys of its callback and media-upgrade JWTs.
ACS_PUBLIC_OPENID_CONFIG_URL = (
    "https://acscallautomation.communication.azure.com/calling/.well-known/acsopenidconfiguration"
)


class Settings(SettingsSections, BaseSettings):
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
        description="OTLP collector base URL; set: one span per agent reply with its latency parts is exported. "
        "OTLP/HTTP (e.g. http://collector:4318, posted to <url>/v1/traces) unless OTEL_EXPORTER_OTLP_PROTOCOL "
        "(read from the process environment) is grpc (e.g. http://collector:4317). Unset: no tracing.",
    )
    otel_service_name: str = Field("switchboard", description="service.name on exported spans.")

    # --- telephony (ACS) -----------------------------------------------------------------------
    acs_connection_string: SecretStr | None = Field(
        None,
        description="endpoint=...;accesskey=... of the ACS resource. Unset: the local ACS simulator "
        f"at {loopback_acs.simulator_endpoint()}.",
    )
    acs_audio_format: AcsAudioFormat = Field(AcsAudioFormat.PCM16K, description="pcm16k or pcm24k.")
    acs_jwt_validation: Literal["on", "off"] = Field(
        "on",
        description="on: every ACS callback and media WebSocket upgrade must carry a valid ACS JWT. off is "
        "INSECURE: anyone who can reach the service can forge call events (e.g. end any call); logged as a "
        "warning at start-up.",
    )
    acs_openid_config_url: str = Field(
        ACS_PUBLIC_OPENID_CONFIG_URL,
        description="ACS OpenID configuration whose `issuer` and `jwks_uri` authenticate ACS JWTs with real ACS "
        "(fetched lazily and cached). With the simulator (no connection string, or a loopback endpoint) the "
        "simulator's own configuration is used instead.",
    )
    acs_jwks_url: str | None = Field(
        None, description="Overrides the `jwks_uri` of the ACS OpenID configuration (the JWT signing keys)."
    )
    acs_jwt_issuer: str | None = Field(
        None, description="Overrides the `issuer` of the ACS OpenID configuration (the expected `iss`)."
    )
    acs_resource_id: str | None = Field(
        None,
        description="Expected `aud` of ACS JWTs: the ACS resource's immutable id. Required with a real "
        "ACS_CONNECTION_STRING (unless ACS_JWT_VALIDATION=off); the simulator's by default.",
    )
    event_grid_auth: EventGridAuthMode = Field(
        EventGridAuthMode.AUTO,
        description="How Event Grid deliveries are authenticated: auto (what is configured below), secret, "
        "entra, both, or insecure-off (anyone can ring the service: never in production). auto with real ACS "
        "and no secret or Entra settings refuses to start.",
    )
    event_grid_secret: SecretStr | None = Field(
        None,
        description="Shared secret in the Event Grid subscription URL (`.../api/v1/calls/events?code=<secret>`), "
        "compared in constant time. Unset with the simulator: the loopback default it posts.",
    )
    event_grid_secret_previous: SecretStr | None = Field(
        None,
        description="The previous EVENT_GRID_SECRET, still accepted while the subscription URL is rotated.",
    )
    event_grid_entra_tenant_id: str | None = Field(
        None,
        pattern=r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
        description="Entra tenant id (GUID) of the app registration on an Entra-protected Event Grid "
        "subscription: deliveries carry `Authorization: Bearer <JWT>` issued by this tenant.",
    )
    event_grid_entra_audience: str | None = Field(
        None,
        description="Expected `aud` of Event Grid's bearer tokens: the app registration's application id and/or "
        "application id URI, comma-separated.",
    )
    event_grid_entra_jwks_url: str | None = Field(
        None,
        description="Signing keys of the tenant. Unset: "
        "https://login.microsoftonline.com/<EVENT_GRID_ENTRA_TENANT_ID>/discovery/v2.0/keys.",
    )
    event_grid_entra_client_app_id: str | None = Field(
        None,
        description="When set, the token's appid/azp must be this client: Event Grid's own application "
        "(4962773b-9cdb-44cf-a8bf-237846a00ab7 in Azure public cloud). Unset: any client holding the "
        "AzureEventGridSecureWebhookSubscriber role.",
    )
    media_token_secret: SecretStr | None = Field(
        None,
        description="Key that signs the per-call media WebSocket token. Unset: random per process "
        "(fine for one replica; replicas must share one).",
    )
    media_token_ttl_seconds: int = Field(
        120, gt=0, description="How long ACS has to open the media WebSocket after we answer."
    )

    # --- telephony (Twilio Media Streams) -----------------------------------------------------
    twilio_auth_token: SecretStr | None = Field(
        None,
        description="Auth token of the Twilio account: checks X-Twilio-Signature on POST /api/v1/twilio/voice. "
        "Unset: the Twilio webhook answers 503 (fail closed).",
    )
    twilio_account_sid: str | None = Field(
        None,
        pattern=r"^AC[0-9a-fA-F]{32}$",
        description="Account SID of the Twilio account (AC...): with TWILIO_AUTH_TOKEN, the agent's cold "
        "transfer redirects a Twilio call to the queue through Twilio's REST API. Unset: Twilio calls "
        "cannot transfer (the agent says so).",
    )
    twilio_api_base: str = Field(
        "https://api.twilio.com",
        description="Base URL of Twilio's REST API (the Twilio simulator's URL in tests).",
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
    redis_max_connections: int = Field(
        100,
        ge=4,
        le=10000,
        description="Redis connections this worker opens at most. A command that finds them all busy waits for "
        "one (up to REDIS_SOCKET_TIMEOUT_SECONDS) instead of failing, so a burst of hang-ups queues its call "
        "record writes. Every live-event viewer holds one while it watches: size it above the viewers expected.",
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
    voicelive_local_barge_in: bool = Field(
        True,
        description="ORCHESTRATOR=voicelive: run our own VAD on the caller audio we forward and silence the agent "
        "(StopAudio) on the caller's speech onset without waiting for the realtime service's speech_started, "
        "which still confirms the interruption; false: barge-in waits for speech_started.",
    )
    voicelive_turn_end_mode: Literal["semantic", "fixed", "inherit"] = Field(
        "inherit",
        description="ORCHESTRATOR=voicelive, agents that set no speech.turn_end: semantic asks the realtime "
        "service for semantic turn detection (azure_semantic_vad with end-of-utterance detection), fixed for "
        "server VAD with the agent's silence, inherit (the default) follows TURN_END_MODE. A caller who goes "
        "on after a complete-sounding sentence before hearing the reply stays one turn: the reply is dropped "
        "unheard (response.cancel, conversation.item.delete) and the next one answers the whole request.",
    )

    @field_validator("acs_connection_string")
    @classmethod
    def _parsable_connection_string(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            AcsConnectionString.parse(value.get_secret_value())  # its ValueError names the problem
        return value

    @field_validator("acs_jwt_validation", mode="before")
    @classmethod
    def _lower_case(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, value: str) -> str:
        name = value.strip().upper()
        if name not in logging.getLevelNamesMapping():
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return name

    @field_validator("media_token_secret")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().encode()) < 16:
            raise ValueError("must be at least 16 bytes (32 random bytes recommended)")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value and urlsplit(value).scheme not in ("redis", "rediss", "unix"):
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        if value:
            urlsplit(value).port  # noqa: B018  # raises ValueError for a port that is not a number
        return value

    @model_validator(mode="after")
    def _acs_audience(self) -> Settings:
        if self.acs_jwt_validation == "on" and not self.uses_acs_simulator and not self.acs_resource_id:
            raise ValueError(
                "ACS_RESOURCE_ID is required with a real ACS_CONNECTION_STRING: it is the audience of the JWTs "
                "that authenticate ACS callbacks and media (the ACS resource's immutable id)"
            )
        return self

    @model_validator(mode="after")
    def _cosmos_key(self) -> Settings:
        if self.cosmos_endpoint and self.cosmos_key is None:
            raise ValueError("COSMOS_ENDPOINT is set but COSMOS_KEY is not")
        if self.cosmos_endpoint and urlsplit(self.cosmos_endpoint).scheme not in ("http", "https"):
            raise ValueError("COSMOS_ENDPOINT must be an http(s) URL")
        return self

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

    @field_validator("twilio_api_base")
    @classmethod
    def _twilio_api_base(cls, value: str) -> str:
        if urlsplit(value).scheme not in ("http", "https") or not urlsplit(value).hostname:
            raise ValueError("TWILIO_API_BASE must be an http:// or https:// URL")
        return value.rstrip("/")

    # --- derived -------------------------------------------------------------------------------
    @property
    def acs_endpoint(self) -> str:
        """The ACS endpoint (no trailing slash): the resource's, or the local simulator's."""
        return AcsConnectionString.parse(self.effective_acs_connection_string).endpoint

    @property
    def uses_acs_simulator(self) -> bool:
        """No connection string, or one pointing at loopback: the simulator, which serves its own keys."""
        if self.acs_connection_string is None:
            return True
        host = urlsplit(self.acs_endpoint).hostname or ""
        if host == "localhost":
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False

    @property
    def effective_public_base_url(self) -> str:
        return self.public_base_url or f"http://{self.host}:{self.port}"

    @property
    def effective_acs_connection_string(self) -> str:
        if self.acs_connection_string is not None:
            return self.acs_connection_string.get_secret_value()
        return loopback_acs.simulator_connection_string()

    @property
    def acs_jwt_source(self) -> AcsJwtSource | None:
        """Where the keys and claims of ACS JWTs come from; None when ACS_JWT_VALIDATION=off."""
        if self.acs_jwt_validation == "off":
            return None
        if self.uses_acs_simulator:
            return AcsJwtSource(
                openid_config_url=self.acs_endpoint + loopback_acs.OPENID_CONFIG_PATH,
                jwks_url=self.acs_jwks_url,
                issuer=self.acs_jwt_issuer,
                audience=self.acs_resource_id or loopback_acs.SIMULATOR_RESOURCE_ID,
            )
        if not self.acs_resource_id:  # the validator requires it; narrowed for the type checker
            raise ValueError("ACS_RESOURCE_ID is required with a real ACS_CONNECTION_STRING")
        return AcsJwtSource(
            openid_config_url=self.acs_openid_config_url,
            jwks_url=self.acs_jwks_url,
            issuer=self.acs_jwt_issuer,
            audience=self.acs_resource_id,
        )

    @property
    def websocket_base_url(self) -> str:
        base = self.effective_public_base_url
        return (
            "wss://" + base[len("https://") :]
            if base.startswith("https://")
            else "ws://" + base[len("http://") :]
        )
