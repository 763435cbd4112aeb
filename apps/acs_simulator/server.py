"""`AcsSimulator`: a local stand-in for Azure Communication Services.

It serves the Call Automation REST API (for the backend's SDK), plays Event Grid (posts to the backend's
webhook) and plays the media service (connects to the backend's media WebSocket as the caller).

    async with AcsSimulator(port=0) as sim:
        result = await sim.place_call("http://127.0.0.1:8000", [Say("I lost my card"), WaitForAgent()])
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

from apps import loopback_acs as defaults
from apps.acs_simulator.api import RecordedRequest, build_app
from apps.acs_simulator.call import CallOptions, SimulatedCall
from apps.acs_simulator.callees import Callee
from apps.acs_simulator.caller_audio import CallerStep
from apps.acs_simulator.inbound import (
    EVENTS_PATH,
    CallResult,
    WebhookValidation,
    event_grid_url,
    place_inbound_call,
    validate_webhook,
)
from apps.acs_simulator.participants import HumanAgent
from apps.acs_simulator.rest_models import (
    CallConnectionPropertiesModel,
    CommunicationIdentifierModel,
    CreateCallRequest,
)
from apps.acs_simulator.serving import ServedApp
from apps.acs_simulator.tokens import TokenIssuer

DEFAULT_TO = "+18005550100"
DEFAULT_FROM = "+14255550123"


def parse_connection_string(connection_string: str) -> tuple[str, str]:
    """(endpoint without trailing slash, key) for CallAutomationClient(endpoint, AzureKeyCredential(key)).

    The SDK signs the endpoint's host as given: a trailing slash would end up in the signature.
    """
    fields = {}
    for part in connection_string.split(";"):
        name, sep, value = part.partition("=")
        if sep:
            fields[name.strip().lower()] = value.strip()
    if "endpoint" not in fields or "accesskey" not in fields:
        raise ValueError("connection string must look like endpoint=http://host:port/;accesskey=<base64>")
    return fields["endpoint"].rstrip("/"), fields["accesskey"]


class AcsSimulator:
    def __init__(
        self,
        *,
        host: str = defaults.SIMULATOR_HOST,
        port: int = defaults.SIMULATOR_PORT,
        access_key: str = defaults.SIMULATOR_ACCESS_KEY,
        issuer: str = defaults.SIMULATOR_ISSUER,
        resource_id: str = defaults.SIMULATOR_RESOURCE_ID,
        ring_s: float = 0.3,
        unreachable_numbers: Sequence[str] = (),
        callees: Mapping[str, Callee] | None = None,
        humans: Mapping[str, HumanAgent] | None = None,
        event_grid_secret: str | None = defaults.SIMULATOR_EVENT_GRID_SECRET,
    ) -> None:
        self.access_key = access_key
        self.event_grid_secret = event_grid_secret
        self.tokens = TokenIssuer(issuer=issuer, audience=resource_id)
        self.ring_s = ring_s
        self.unreachable_numbers = set(unreachable_numbers)
        self.callees: dict[str, Callee] = dict(callees or {})
        """Who picks up an outbound call to each number (callees.py); others answer and stay silent."""
        self.humans: dict[str, HumanAgent] = dict(humans or {})
        """Who picks up when the backend adds a number to a call (participants.py); others never do."""
        self.requests: list[RecordedRequest] = []
        self.calls: dict[str, SimulatedCall] = {}
        self._by_context: dict[str, SimulatedCall] = {}
        self._validated: dict[str, WebhookValidation] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._http: httpx.AsyncClient | None = None
        self._served = ServedApp(build_app(self), host, port)

    # ---- lifecycle ---------------------------------------------------------------------------------------

    async def start(self) -> AcsSimulator:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=5.0), trust_env=False)
        try:
            await self._served.start()
        except OSError as exc:
            await self._http.aclose()
            self._http = None
            raise OSError(
                f"ACS simulator cannot listen on {self._served.host}:{self._served.requested_port}: "
                f"{exc.strerror or exc}"
            ) from exc
        return self

    async def stop(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._served.stop()
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def __aenter__(self) -> AcsSimulator:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        """Run a background task owned by the simulator (cancelled by stop())."""
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # ---- addresses ---------------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._served.port is None:
            raise RuntimeError("AcsSimulator.start() first")
        return self._served.port

    @property
    def endpoint(self) -> str:
        """The REST endpoint, no trailing slash (pass it as is to CallAutomationClient)."""
        return self._served.base_url

    @property
    def connection_string(self) -> str:
        return f"endpoint={self.endpoint}/;accesskey={self.access_key}"

    @property
    def jwks_url(self) -> str:
        return self.endpoint + defaults.JWKS_PATH

    @property
    def openid_configuration_url(self) -> str:
        return self.endpoint + defaults.OPENID_CONFIG_PATH

    @property
    def issuer(self) -> str:
        return self.tokens.issuer

    @property
    def resource_id(self) -> str:
        return self.tokens.audience

    def webhook_url(self, backend_url: str, events_path: str = EVENTS_PATH) -> str:
        """The backend's Event Grid webhook as a subscription would hold it: with the secret in its query."""
        return event_grid_url(backend_url.rstrip("/") + events_path, self.event_grid_secret)

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            raise RuntimeError("AcsSimulator.start() first")
        return self._http

    # ---- calls -------------------------------------------------------------------------------------------

    def register_incoming_call(
        self,
        *,
        to_number: str = DEFAULT_TO,
        from_number: str = DEFAULT_FROM,
        caller_display_name: str = "Simulated Caller",
        script: Sequence[CallerStep] = (),
        options: CallOptions | None = None,
    ) -> SimulatedCall:
        """A ringing inbound call whose incomingCallContext can be answered, without posting to any webhook.

        Without a script the caller stays on the line, silent, until the backend hangs up.
        """
        if options is None:
            options = CallOptions(
                max_duration_s=600.0, hang_up_after_silence_s=None, end_on_media_failure=False
            )
        call = SimulatedCall(
            direction="inbound",
            caller=CommunicationIdentifierModel.phone(from_number),
            callee=CommunicationIdentifierModel.phone(to_number),
            http=self.http,
            tokens=self.tokens,
            caller_display_name=caller_display_name,
            script=script,
            options=options,
            humans=self.humans,
        )
        self.calls[call.call_connection_id] = call
        self._by_context[call.incoming_call_context] = call
        return call

    def pending_call(self, incoming_call_context: str) -> SimulatedCall | None:
        return self._by_context.get(incoming_call_context)

    def create_outbound_call(
        self, request: CreateCallRequest, raw: dict[str, Any]
    ) -> CallConnectionPropertiesModel:
        source = request.source_caller_id_number
        callee = self.callees.get(request.targets[0].normalized().resolved_raw_id().removeprefix("4:"))
        call = SimulatedCall(
            direction="outbound",
            caller=CommunicationIdentifierModel.phone(source.value if source else DEFAULT_TO),
            callee=request.targets[0],
            http=self.http,
            tokens=self.tokens,
            caller_display_name=request.source_display_name or "",
            humans=self.humans,
            script=callee.script if callee is not None else (),
            options=callee.options
            if callee is not None
            else CallOptions(max_duration_s=600.0, hang_up_after_silence_s=None, end_on_media_failure=False),
        )
        props = call.accept_create(
            request.callback_uri, request.operation_context, request.media_streaming_options, raw
        )
        self.calls[call.call_connection_id] = call
        self.spawn(self._ring(call), f"acs-sim-outbound-{call.call_connection_id}")
        return props

    async def _ring(self, call: SimulatedCall) -> None:
        await asyncio.sleep(self.ring_s)
        number = call.callee.phone_number.value if call.callee.phone_number else ""
        callee = self.callees.get(number)
        if number in self.unreachable_numbers or (callee is not None and not callee.answers):
            code, message = callee.failure if callee is not None else (404, "")
            call.fail_create(message or f"The callee {number} did not answer.", code=code)
            with contextlib.suppress(Exception):
                await call.callbacks.aclose()
            return
        if call.state == "connecting":
            await call.run_connected()

    async def validate_webhook(self, url: str) -> WebhookValidation:
        """Event Grid validates a webhook once per subscription; the simulator does it once per URL."""
        if url not in self._validated:
            self._validated[url] = await validate_webhook(self.http, url)
        return self._validated[url]

    async def place_call(
        self,
        backend_url: str,
        script: Sequence[CallerStep] = (),
        *,
        to_number: str = DEFAULT_TO,
        from_number: str = DEFAULT_FROM,
        caller_display_name: str = "Simulated Caller",
        max_duration_s: float = 60.0,
        hang_up_after_silence_s: float = 2.0,
        answer_timeout_s: float = 15.0,
        record_path: Path | str | None = None,
        events_path: str = EVENTS_PATH,
    ) -> CallResult:
        """Ring the backend, let it answer, play the caller's script, hang up, and report what happened.

        Raises BackendUnreachable / WebhookRejected / CallNotAnswered (all CallSimulationError) before the
        call is connected; once connected, problems are reported in the CallResult instead.
        The audio format (16 or 24 kHz) is whatever the backend asks for in its answer request.
        """
        options = CallOptions(max_duration_s=max_duration_s, hang_up_after_silence_s=hang_up_after_silence_s)
        return await place_inbound_call(
            self,
            backend_url,
            list(script),
            to_number=to_number,
            from_number=from_number,
            caller_display_name=caller_display_name,
            options=options,
            answer_timeout_s=answer_timeout_s,
            record_path=record_path,
            events_path=events_path,
        )
