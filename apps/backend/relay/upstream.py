"""Where a relay session's realtime upstream is and how to open it (the key stays here: it is put on the
upgrade request as a header, never sent to the client, never logged).

The embedded realtime server and OpenAI speak the GA dialect; Azure OpenAI's realtime deployments and
VoiceLive speak the beta one. The client speaks the upstream's dialect (it is told which in `relay.ready`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlencode

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import InvalidHandshake, InvalidStatus
from websockets.frames import Close

from apps.backend.realtime import BackendRealtime, loopback_base_url
from apps.backend.settings import Settings

Dialect = Literal["ga", "beta"]
MAX_UPSTREAM_MESSAGE = 16 * 1024 * 1024
OPENAI_REALTIME_URL = "wss://api.openai.com/v1/realtime"


class UpstreamRefused(Exception):
    """The upstream refused the credentials (401/403): retrying cannot help."""


class UpstreamUnavailable(Exception):
    """The upstream could not be opened (timeout, connection refused, another HTTP status): retried."""


@dataclass(frozen=True)
class UpstreamTarget:
    provider: str
    """The name usage is recorded under (embedded-realtime is priced at zero)."""
    model: str
    url: str
    dialect: Dialect
    headers: dict[str, str] = field(repr=False)
    """Carries the key: never logged, never sent to the client."""

    def describe(self) -> dict[str, str]:
        """What the client may know about its upstream."""
        return {"provider": self.provider, "model": self.model, "dialect": self.dialect}


def _ws(url: str) -> str:
    url = url.rstrip("/")
    if url.startswith("https://"):
        return "wss://" + url[len("https://") :]
    if url.startswith("http://"):
        return "ws://" + url[len("http://") :]
    return url


def relay_target(settings: Settings, realtime: BackendRealtime) -> UpstreamTarget:
    """The configured upstream; raises ValueError naming the missing setting."""
    kind = settings.relay_upstream
    model = settings.relay_model
    key = settings.relay_api_key.get_secret_value() if settings.relay_api_key is not None else None
    if kind == "embedded":
        base = _ws(loopback_base_url(settings))
        return UpstreamTarget(
            "embedded-realtime",
            model,
            f"{base}/v1/realtime?{urlencode({'model': model})}",
            "ga",
            {"Authorization": f"Bearer {realtime.internal_key}"},
        )
    if kind == "openai":
        if key is None:
            raise ValueError("RELAY_UPSTREAM=openai needs RELAY_API_KEY")
        base = _ws(settings.relay_upstream_url or OPENAI_REALTIME_URL)
        return UpstreamTarget(
            "openai-realtime",
            model,
            f"{base}?{urlencode({'model': model})}",
            "ga",
            {"Authorization": f"Bearer {key}"},
        )
    if kind == "azure-openai":
        endpoint = settings.relay_upstream_url or settings.azure_openai_endpoint
        key = key or (
            settings.azure_openai_api_key.get_secret_value() if settings.azure_openai_api_key else None
        )
        if not endpoint or key is None:
            raise ValueError(
                "RELAY_UPSTREAM=azure-openai needs AZURE_OPENAI_ENDPOINT (or RELAY_UPSTREAM_URL) and a key"
            )
        query = urlencode({"api-version": settings.relay_api_version, "deployment": model})
        return UpstreamTarget(
            "azure-openai-realtime",
            model,
            f"{_ws(endpoint)}/openai/realtime?{query}",
            "beta",
            {"api-key": key},
        )
    endpoint = settings.relay_upstream_url or settings.azure_voicelive_endpoint
    key = key or (
        settings.azure_voicelive_api_key.get_secret_value() if settings.azure_voicelive_api_key else None
    )
    if not endpoint or key is None:
        raise ValueError(
            "RELAY_UPSTREAM=voicelive needs AZURE_VOICELIVE_ENDPOINT (or RELAY_UPSTREAM_URL) and a key"
        )
    query = urlencode({"api-version": settings.azure_voicelive_api_version, "model": model})
    return UpstreamTarget(
        "azure-voicelive", model, f"{_ws(endpoint)}/voice-live/realtime?{query}", "beta", {"api-key": key}
    )


async def open_upstream(target: UpstreamTarget, *, timeout_s: float, heartbeat_s: float) -> ClientConnection:
    """Open the upstream socket. Its pings (every `heartbeat_s`, unanswered for as long) close a dead
    upstream, which the relay sees as a drop."""
    try:
        return await websockets.connect(
            target.url,
            additional_headers=target.headers,
            open_timeout=timeout_s,
            ping_interval=heartbeat_s,
            ping_timeout=heartbeat_s,
            max_size=MAX_UPSTREAM_MESSAGE,
            max_queue=64,
        )
    except InvalidStatus as exc:
        status = exc.response.status_code
        if status in (401, 403):
            raise UpstreamRefused(f"upstream refused the credentials (HTTP {status})") from None
        raise UpstreamUnavailable(f"upstream answered HTTP {status}") from None
    except TimeoutError:
        raise UpstreamUnavailable(f"no upstream connection within {timeout_s:g} s") from None
    except (OSError, InvalidHandshake) as exc:
        raise UpstreamUnavailable(f"upstream unreachable ({type(exc).__name__})") from None


def close_reason(received: Close | None, sent: Close | None) -> str:
    """Why an upstream connection ended, from the close frames it received and sent."""
    if received is None and sent is not None and sent.code == 1011:
        return f"no heartbeat from the upstream ({sent.reason})"  # our pings went unanswered
    if received is None:
        return "upstream connection lost (no close frame)"
    return f"upstream closed ({received.code}{' ' + received.reason if received.reason else ''})"
