"""A PSTN caller dialling the backend's number: the Event Grid side of an inbound call and its result."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from apps import loopback_acs
from apps.acs_simulator import events as ev
from apps.acs_simulator import timeline as tl
from apps.acs_simulator.call import CallOptions
from apps.acs_simulator.callbacks import PostedCallback
from apps.acs_simulator.caller_audio import CallerStep, validate_script
from apps.acs_simulator.playout import write_wav

if TYPE_CHECKING:
    from apps.acs_simulator.api import RecordedRequest
    from apps.acs_simulator.server import AcsSimulator

EVENTS_PATH = "/api/v1/calls/events"


class CallSimulationError(Exception):
    """The simulated call could not be placed; the message is one line, fit for a CLI."""


class BackendUnreachable(CallSimulationError):
    pass


class WebhookRejected(CallSimulationError):
    pass


class CallNotAnswered(CallSimulationError):
    pass


@dataclass(frozen=True, slots=True)
class WebhookValidation:
    url: str
    validation_code: str
    status_code: int
    response: Any
    ok: bool


@dataclass
class CallResult:
    call_connection_id: str
    server_call_id: str
    correlation_id: str
    validation: WebhookValidation
    incoming_call_status: int
    answer_request: dict[str, Any]
    audio_format: str
    sample_rate: int
    timeline: tl.Timeline
    agent_pcm: bytes
    stop_audio_count: int
    hung_up_by: str
    end_reason: str
    callbacks: list[PostedCallback]
    media_connected: bool
    media_error: str | None
    media_upgrade_headers: dict[str, str]
    frames_sent: int
    agent_audio_messages: int
    malformed_media_messages: int
    script_error: str | None
    warnings: list[str] = field(default_factory=list)
    wav_path: Path | None = None
    media_close_code: int | None = None  # set when the backend closed the media socket
    media_close_reason: str = ""

    def failures(self) -> list[str]:
        """Why this call did not work, one line each (empty: it did). `switchboard call` exits 1 on any."""
        problems: list[str] = []
        if not self.media_connected:
            problems.append(f"media never connected: {self.media_error or 'the backend asked for no media'}")
        if self.media_close_code not in (None, 1000):
            reason = f" ({self.media_close_reason})" if self.media_close_reason else ""
            problems.append(
                f"the backend closed the media WebSocket with code {self.media_close_code}{reason}"
            )
        refused = [c for c in self.callbacks if c.status_code is None or not 200 <= c.status_code < 300]
        if refused:
            first = refused[0]
            why = f"HTTP {first.status_code}" if first.status_code is not None else first.error or "no answer"
            problems.append(
                f"{len(refused)} of {len(self.callbacks)} callbacks were not accepted "
                f"(first: {first.event_type}, {why})"
            )
        if self.script_error:
            problems.append(f"script error: {self.script_error}")
        problems += [w for w in self.warnings if w.startswith("simulator error")]
        return problems

    @property
    def agent_audio_s(self) -> float:
        return len(self.agent_pcm) / 2 / self.sample_rate if self.sample_rate else 0.0

    def write_wav(self, path: Path | str) -> Path:
        self.wav_path = write_wav(Path(path), self.agent_pcm, self.sample_rate)
        return self.wav_path


def event_grid_headers(event_type: str) -> dict[str, str]:
    """What Event Grid puts on a webhook delivery (aeg-event-type is the one receivers check)."""
    return {
        "aeg-event-type": event_type,
        "aeg-subscription-name": "SWITCHBOARD-INCOMING-CALLS",
        "aeg-delivery-count": "0",
        "aeg-data-version": "1",
        "aeg-metadata-version": "1",
    }


def event_grid_url(url: str, secret: str | None) -> str:
    """`url` with the subscription secret added to its query (how Event Grid carries it), if there is one."""
    if not secret:
        return url
    parts = urlsplit(url)
    query = urlencode([*parse_qsl(parts.query), (loopback_acs.EVENT_GRID_SECRET_PARAM, secret)])
    return urlunsplit(parts._replace(query=query))


def _shown(url: str) -> str:
    """A webhook URL fit for an error message: without its query (the secret rides there)."""
    return urlunsplit(urlsplit(url)._replace(query=""))


def _rejections(requests: list[RecordedRequest]) -> str:
    """Why the backend's own REST calls failed, if they did: the usual cause of 'never answered'."""
    failed = [r for r in requests if r.status_code is not None and r.status_code >= 400]
    if not failed:
        return ""
    r = failed[0]
    return f"; the simulator rejected {r.method} {r.path} with HTTP {r.status_code}: {r.error}"


def _unreachable(url: str, exc: Exception) -> BackendUnreachable:
    return BackendUnreachable(
        f"backend webhook {_shown(url)} is not reachable ({exc.__class__.__name__}: {exc})"
    )


async def validate_webhook(http: httpx.AsyncClient, url: str) -> WebhookValidation:
    """Event Grid's subscription handshake: the webhook must echo validationCode."""
    event = ev.subscription_validation_event()
    data = event.data
    if not isinstance(data, ev.SubscriptionValidationData):
        raise TypeError("a subscription validation event carries SubscriptionValidationData")
    code = data.validation_code
    try:
        response = await http.post(
            url, json=[event.wire()], headers=event_grid_headers("SubscriptionValidation")
        )
    except httpx.HTTPError as exc:
        raise _unreachable(url, exc) from exc
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text[:200]
    ok = response.status_code == 200 and isinstance(body, dict) and body.get("validationResponse") == code
    result = WebhookValidation(_shown(url), code, response.status_code, body, ok)
    if not ok:
        raise WebhookRejected(
            f"webhook {_shown(url)} failed the Event Grid validation handshake: "
            f"HTTP {response.status_code} {body!r:.200}"
        )
    return result


async def place_inbound_call(
    sim: AcsSimulator,
    backend_url: str,
    script: list[CallerStep],
    *,
    to_number: str,
    from_number: str,
    caller_display_name: str,
    options: CallOptions,
    answer_timeout_s: float,
    record_path: Path | str | None,
    events_path: str = EVENTS_PATH,
) -> CallResult:
    validate_script(script)
    url = sim.webhook_url(backend_url, events_path)
    validation = await sim.validate_webhook(url)
    call = sim.register_incoming_call(
        to_number=to_number,
        from_number=from_number,
        caller_display_name=caller_display_name,
        script=script,
        options=options,
    )
    placed: dict[str, Any] = {"to": to_number, "from": from_number}  # "from" is a keyword: no `from=`
    call.timeline.mark(tl.CALL_PLACED, **placed)
    event = ev.incoming_call_event(
        to_number=to_number,
        from_number=from_number,
        server_call_id=call.server_call_id,
        caller_display_name=caller_display_name,
        incoming_call_context=call.incoming_call_context,
        correlation_id=call.correlation_id,
    )
    first_request = len(sim.requests)
    try:
        response = await sim.http.post(url, json=[event.wire()], headers=event_grid_headers("Notification"))
    except httpx.HTTPError as exc:
        call.abandon()
        raise _unreachable(url, exc) from exc
    if not 200 <= response.status_code < 300:
        call.abandon()
        raise WebhookRejected(
            f"webhook {_shown(url)} answered IncomingCall with HTTP {response.status_code}"
            + _rejections(sim.requests[first_request:])
        )
    try:
        await asyncio.wait_for(call.answered.wait(), answer_timeout_s)
    except TimeoutError:
        call.abandon()
        reason = _rejections(sim.requests[first_request:]) or (
            f"; no POST /calling/callConnections:answer reached the simulator at {sim.endpoint}"
        )
        raise CallNotAnswered(
            f"the backend accepted IncomingCall but did not answer within {answer_timeout_s:g} s{reason}"
        ) from None
    hang_guard = options.max_duration_s + answer_timeout_s + 30.0
    await asyncio.wait_for(call.ended.wait(), hang_guard)
    media = call.media
    result = CallResult(
        call_connection_id=call.call_connection_id,
        server_call_id=call.server_call_id,
        correlation_id=call.correlation_id,
        validation=validation,
        incoming_call_status=response.status_code,
        answer_request=call.setup_request or {},
        audio_format=call.audio_format,
        sample_rate=call.sample_rate,
        timeline=call.timeline,
        agent_pcm=bytes(media.playout.recording) if media else b"",
        stop_audio_count=media.playout.stop_audio_count if media else 0,
        hung_up_by=call.hung_up_by or "unknown",
        end_reason=call.end_reason or "",
        callbacks=list(call.callbacks.posted),
        media_connected=media is not None,
        media_error=call.media_error,
        media_upgrade_headers={
            k: v for k, v in (media.upgrade_headers if media else {}).items() if k.lower() != "authorization"
        },
        frames_sent=media.frames_sent if media else 0,
        agent_audio_messages=media.playout.audio_messages if media else 0,
        malformed_media_messages=media.malformed_messages if media else 0,
        script_error=call.script_error,
        warnings=list(call.warnings),
        media_close_code=media.close_code if media else None,
        media_close_reason=media.close_reason if media else "",
    )
    if record_path is not None:
        result.write_wav(record_path)
    return result
