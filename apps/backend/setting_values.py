"""The typed values some settings take (which orchestrator, which ACS audio format, how webhooks authenticate),
apart from `Settings` so the code that acts on them can import them without the whole settings model."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel


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


class EventGridAuthMode(StrEnum):
    """How Event Grid deliveries to /api/v1/calls/events prove where they come from."""

    AUTO = "auto"  # whatever is configured (secret, Entra or both); refuse to start with real ACS and neither
    SECRET = "secret"
    ENTRA = "entra"
    BOTH = "both"
    INSECURE_OFF = "insecure-off"


@dataclass(frozen=True)
class AcsJwtSource:
    """The OpenID configuration to discover issuer and keys from, and the explicit overrides of either."""

    openid_config_url: str
    jwks_url: str | None
    issuer: str | None
    audience: str


class SessionsAuth(StrEnum):
    """Who may create browser voice sessions (POST /api/v1/sessions)."""

    ADMIN = "admin"  # the admin key (x-api-key)
    DEMO = "demo"  # anyone, rate-limited per client IP


class IceServer(BaseModel):
    """One ICE server handed to browsers with a new session (RTCIceServer's shape)."""

    urls: list[str] | str
    username: str | None = None
    credential: str | None = None
