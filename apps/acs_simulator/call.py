"""One simulated call connection: its state as the REST API sees it, its callbacks, its media, and its life
from answer to disconnect. REST handlers call the `accept_*` / `request_*` methods (synchronous: they only
change state and queue callbacks); `run_connected()` is the call's own task from connect to CallDisconnected.
"""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from apps.acs_simulator import events as ev
from apps.acs_simulator import timeline as tl
from apps.acs_simulator.call_flow import run_connected
from apps.acs_simulator.callbacks import CallbackSender
from apps.acs_simulator.caller_audio import CallerStep
from apps.acs_simulator.media import MediaSession
from apps.acs_simulator.participants import CallParticipants, HumanAgent
from apps.acs_simulator.rest_models import (
    AUDIO_FORMAT_RATES,
    DEFAULT_AUDIO_FORMAT,
    AnswerCallRequest,
    CallConnectionPropertiesModel,
    CallParticipantModel,
    CommunicationIdentifierModel,
    MediaStreamingOptionsModel,
    MediaStreamingSubscriptionModel,
    PlayRequest,
    TransferCallResponse,
    TransferToParticipantRequest,
)
from apps.acs_simulator.tokens import TokenIssuer


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def call_not_found() -> ApiError:
    return ApiError(404, "NotFound", "Call not found or already ended.")


@dataclass
class CallOptions:
    max_duration_s: float = 60.0
    hang_up_after_silence_s: float | None = 2.0  # None: the caller never hangs up on its own
    end_on_media_failure: bool = True
    media_grace_s: float = 2.0  # after the backend closes the media socket, time to hang up before we do


class SimulatedCall:
    def __init__(
        self,
        *,
        direction: str,
        caller: CommunicationIdentifierModel,
        callee: CommunicationIdentifierModel,
        http: httpx.AsyncClient,
        tokens: TokenIssuer,
        caller_display_name: str = "",
        script: Sequence[CallerStep] = (),
        options: CallOptions | None = None,
        humans: dict[str, HumanAgent] | None = None,
    ) -> None:
        self.direction = direction
        self.caller, self.callee = caller.normalized(), callee.normalized()
        self.caller_display_name = caller_display_name
        self.script = list(script)
        self.options = options or CallOptions()
        self.tokens = tokens
        self.call_connection_id = str(uuid.uuid4())
        self.server_call_id = (
            base64.urlsafe_b64encode(f"sim-call:{uuid.uuid4()}".encode()).decode().rstrip("=")
        )
        self.correlation_id = str(uuid.uuid4())
        self.incoming_call_context = ev.new_incoming_call_context()
        self.subscription_id = str(uuid.uuid4())
        # ringing -> connecting -> connected -> disconnecting -> disconnected (or abandoned / failed)
        self.state = "ringing"
        self.timeline = tl.Timeline()
        self.callbacks = CallbackSender(http, tokens, self.timeline)
        self.callback_uri: str | None = None
        self.operation_context: str | None = None
        self.media_options: MediaStreamingOptionsModel | None = None
        self.setup_request: dict[str, Any] | None = None  # the answer (or create) request body as received
        self.media: MediaSession | None = None
        self.media_error: str | None = None
        self.script_error: str | None = None
        self.answered = asyncio.Event()
        self.ended = asyncio.Event()
        self.hung_up_by: str | None = None
        self.end_reason: str | None = None
        self.warnings: list[str] = []
        self.end_requested = asyncio.Event()
        self.side_tasks: set[asyncio.Task[None]] = set()
        self.legs = CallParticipants(self, humans if humans is not None else {})
        """Participants added by the backend, holds, and who the caller was left with (participants.py)."""

    # ---- what the REST API shows -------------------------------------------------------------------------

    @property
    def audio_format(self) -> str:
        return (self.media_options and self.media_options.audio_format) or DEFAULT_AUDIO_FORMAT

    @property
    def sample_rate(self) -> int:
        return AUDIO_FORMAT_RATES[self.audio_format]

    def properties(self) -> CallConnectionPropertiesModel:
        state = {"ringing": "connecting", "abandoned": "disconnected", "failed": "disconnected"}.get(
            self.state, self.state
        )
        subscription = None
        if self.media_options is not None:
            active = self.media is not None and self.state == "connected"
            subscription = MediaStreamingSubscriptionModel(
                id=self.subscription_id, state="active" if active else "inactive"
            )
        inbound = self.direction == "inbound"
        return CallConnectionPropertiesModel(
            call_connection_id=self.call_connection_id,
            server_call_id=self.server_call_id,
            targets=[self.callee],
            call_connection_state=state,
            callback_uri=self.callback_uri or "",
            source=self.caller,
            source_caller_id_number=None if inbound else self.caller.phone_number,
            source_display_name=self.caller_display_name or None,
            correlation_id=self.correlation_id,
            answered_for=self.callee.phone_number if inbound else None,
            media_streaming_subscription=subscription,
        )

    def participants(self) -> list[CallParticipantModel]:
        return self.legs.models()

    # ---- REST hooks --------------------------------------------------------------------------------------

    def _setup(
        self,
        callback_uri: str,
        operation_context: str | None,
        media: MediaStreamingOptionsModel | None,
        raw: dict[str, Any],
    ) -> None:
        if media is not None:
            if media.transport_type.lower() != "websocket":
                raise ApiError(400, "BadRequest", f"Unsupported transportType {media.transport_type!r}.")
            if not (media.transport_url or "").startswith(("ws://", "wss://")):
                raise ApiError(
                    400, "BadRequest", "mediaStreamingOptions.transportUrl must be a ws:// or wss:// URL."
                )
            if media.audio_format is not None and media.audio_format not in AUDIO_FORMAT_RATES:
                raise ApiError(400, "BadRequest", f"Unsupported audioFormat {media.audio_format!r}.")
            if media.enable_bidirectional is not True:
                self.warnings.append(
                    "enableBidirectional is not true: ACS would ignore audio sent by the backend"
                )
        self.callback_uri, self.operation_context, self.media_options = callback_uri, operation_context, media
        self.setup_request = raw

    def accept_answer(self, request: AnswerCallRequest, raw: dict[str, Any]) -> CallConnectionPropertiesModel:
        """The 200 body. The API layer then starts `run_connected()` if the state is now connecting."""
        if self.state not in ("ringing", "abandoned"):
            raise ApiError(400, "BadRequest", "The call has already been answered or has ended.")
        self._setup(request.callback_uri, request.operation_context, request.media_streaming_options, raw)
        if self.state == "abandoned":
            self.timeline.mark(tl.ANSWERED, late=True)
            self.post(
                ev.ANSWER_FAILED,
                result=ev.ResultInformation(
                    code=408, sub_code=8523, message="The caller hung up before the call was answered."
                ),
            )
            return self.properties()
        self.timeline.mark(tl.ANSWERED)
        self.state = "connecting"
        self.answered.set()
        return self.properties()

    def accept_create(
        self,
        callback_uri: str,
        operation_context: str | None,
        media: MediaStreamingOptionsModel | None,
        raw: dict[str, Any],
    ) -> CallConnectionPropertiesModel:
        self._setup(callback_uri, operation_context, media, raw)
        self.timeline.mark(tl.CALL_PLACED, to=self.callee.resolved_raw_id(), direction="outbound")
        self.state = "connecting"
        return self.properties()

    def abandon(self) -> None:
        """The caller gave up ringing (no answer in time)."""
        if self.state == "ringing":
            self.state = "abandoned"
            self.timeline.mark(tl.HANGUP, by="caller", reason="not answered")

    def fail_create(self, message: str, *, code: int = 404) -> None:
        self.state = "failed"
        self.post(ev.CREATE_CALL_FAILED, result=ev.ResultInformation(code=code, sub_code=0, message=message))
        self.timeline.mark(tl.DISCONNECTED, reason="create failed")
        self.ended.set()

    @property
    def active(self) -> bool:
        return self.state in ("connecting", "connected")

    def _require_active(self) -> None:
        if not self.active:
            raise call_not_found()

    def request_hangup(self, *, for_everyone: bool) -> None:
        self._require_active()
        if not for_everyone and self.legs.bot_leaves():  # the call goes on without the bot
            self.end("backend", f"left the call to {self.legs.bridged_to}")
            return
        self.timeline.mark(tl.HANGUP, by="backend", method="terminate" if for_everyone else "hangup")
        self.end("backend", "terminated" if for_everyone else "hung up")

    def request_transfer(self, request: TransferToParticipantRequest) -> TransferCallResponse:
        self._require_active()
        target = request.target_participant.normalized()
        self.timeline.mark(tl.TRANSFER_REQUESTED, target=target.resolved_raw_id())
        transferee = request.transferee.normalized() if request.transferee else self.caller
        self.post(
            ev.CALL_TRANSFER_ACCEPTED,
            operation_context=request.operation_context,
            url=request.operation_callback_uri,
            transfer_target=target,
            transferee=transferee,
        )
        self.end("transfer", f"transferred to {target.resolved_raw_id()}")
        return TransferCallResponse(operation_context=request.operation_context)

    def request_play(self, request: PlayRequest) -> None:
        self._require_active()
        kinds = [str(s.get("kind", "?")) for s in request.play_sources]
        self.timeline.mark(tl.PLAY_REQUESTED, sources=",".join(kinds))
        self.spawn_side(self._play(request), "acs-sim-play")

    def spawn_side(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        """A task of this call's (cancelled when the call ends)."""
        task = asyncio.create_task(coro, name=name)
        self.side_tasks.add(task)
        task.add_done_callback(self.side_tasks.discard)

    async def _play(self, request: PlayRequest) -> None:
        text = " ".join(str((s.get("text") or {}).get("text", "")) for s in request.play_sources)
        seconds = min(10.0, max(0.5, 0.06 * len(text))) if text.strip() else 1.0
        url, context = request.operation_callback_uri, request.operation_context
        self.post(ev.PLAY_STARTED, operation_context=context, url=url)
        await asyncio.sleep(seconds)
        if self.state == "connected":
            self.post(ev.PLAY_COMPLETED, operation_context=context, url=url)

    def end(self, by: str, reason: str) -> None:
        """Someone hung up: from now on the REST API treats the call as gone (404), as ACS does."""
        if not self.end_requested.is_set():
            self.hung_up_by, self.end_reason = by, reason
            if self.state in ("connecting", "connected"):
                self.state = "disconnecting"
            self.end_requested.set()

    def post(
        self,
        event_type: str,
        *,
        url: str | None = None,
        operation_context: str | None = None,
        result: ev.ResultInformation | None = None,
        **extra: Any,
    ) -> None:
        target = url or self.callback_uri
        if not target:
            return
        event = ev.call_event(
            event_type,
            call_connection_id=self.call_connection_id,
            server_call_id=self.server_call_id,
            correlation_id=self.correlation_id,
            operation_context=operation_context if operation_context is not None else self.operation_context,
            result=result,
            **extra,
        )
        self.callbacks.send(target, event)

    # ---- the call's own life -----------------------------------------------------------------------------

    async def run_connected(self) -> None:
        """From answer/pick-up to CallDisconnected (call_flow.py). Cancelled by the simulator's stop()."""
        await run_connected(self)
