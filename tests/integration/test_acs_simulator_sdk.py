"""The ACS simulator against the real `azure-communication-callautomation` async SDK, and a full simulated
call into a small in-test backend (FastAPI webhook that answers through the SDK + a media WebSocket endpoint).

No mocks: every hop is real HTTP / WebSocket on loopback.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import importlib.util
import itertools
import math
import sys
import time
import wave
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import numpy as np
import orjson
import pytest
from azure.communication.callautomation import (
    MediaStreamingOptions,
    PhoneNumberIdentifier,
    TextSource,
)
from azure.communication.callautomation.aio import CallAutomationClient
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import HttpResponseError
from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect

from apps import loopback_acs as defaults
from apps.acs_simulator.caller_audio import Pause, PlayWav, Say, SendDtmf, WaitForAgent
from apps.acs_simulator.hmac_auth import sign_request
from apps.acs_simulator.inbound import BackendUnreachable, CallNotAnswered
from apps.acs_simulator.server import AcsSimulator, parse_connection_string
from apps.acs_simulator.serving import ServedApp

MEDIA_TOKEN = "per-call-token-123"
CALLER = "+14255550123"


def tone(sample_rate: int, seconds: float, hz: float = 440.0, amplitude: int = 8000) -> bytes:
    t = np.arange(int(sample_rate * seconds)) / sample_rate
    return (amplitude * np.sin(2 * math.pi * hz * t)).astype("<i2").tobytes()


class MiniBackend:
    """Plays the Switchboard backend: Event Grid webhook, SDK answer, callbacks, media WebSocket.

    `behaviour`: "tone" (send 1 s of tone, StopAudio half-way), "hang_up" (tone, then terminate through the
    SDK), "silent_webhook" (accept IncomingCall but never answer).
    """

    def __init__(
        self, endpoint: str, access_key: str, *, audio_format: str = "pcm16KMono", behaviour: str = "tone"
    ):
        self.endpoint, self.access_key = endpoint, access_key
        self.audio_format, self.behaviour = audio_format, behaviour
        self.webhook_posts: list[tuple[dict[str, str], Any]] = []
        self.callbacks: list[tuple[dict[str, str], list[dict[str, Any]]]] = []
        self.ws_headers: dict[str, str] = {}
        self.ws_query: dict[str, str] = {}
        self.inbound: list[tuple[float, dict[str, Any]]] = []  # (monotonic arrival, message)
        self.ws_closed_by_peer = asyncio.Event()
        self.served = ServedApp(self._app())
        self.client: CallAutomationClient | None = None

    @property
    def url(self) -> str:
        return self.served.base_url

    def callback_types(self) -> list[str]:
        return [body[0]["type"] for _, body in self.callbacks]

    def _app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/api/v1/calls/events")
        async def events(request: Request) -> Any:
            body = await request.json()
            self.webhook_posts.append(({k.lower(): v for k, v in request.headers.items()}, body))
            for event in body:
                if event["eventType"] == "Microsoft.EventGrid.SubscriptionValidationEvent":
                    return {"validationResponse": event["data"]["validationCode"]}
                if (
                    event["eventType"] == "Microsoft.Communication.IncomingCall"
                    and self.behaviour != "silent_webhook"
                ):
                    await self._answer(event["data"]["incomingCallContext"])
            return {}

        @app.post("/api/callbacks")
        async def callbacks(request: Request) -> dict[str, str]:
            self.callbacks.append(({k.lower(): v for k, v in request.headers.items()}, await request.json()))
            return {}

        @app.websocket("/ws/media")
        async def media(ws: WebSocket) -> None:
            self.ws_headers = {k.lower(): v for k, v in ws.headers.items()}
            self.ws_query = dict(ws.query_params)
            if ws.query_params.get("token") != MEDIA_TOKEN:
                await ws.close(code=1008)
                return
            await ws.accept()
            sender: asyncio.Task[None] | None = None
            try:
                while True:
                    message = orjson.loads(await ws.receive_text())
                    self.inbound.append((time.monotonic(), message))
                    audio_frames = sum(1 for _, m in self.inbound if m["kind"] == "AudioData")
                    if audio_frames == 10 and sender is None:
                        sender = asyncio.create_task(self._speak(ws))
            except WebSocketDisconnect:
                self.ws_closed_by_peer.set()
            finally:
                if sender is not None:
                    sender.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await sender

        return app

    async def _answer(self, incoming_call_context: str) -> None:
        assert self.client is not None
        await self.client.answer_call(
            incoming_call_context,
            f"{self.url}/api/callbacks",
            operation_context="mini-backend",
            media_streaming=MediaStreamingOptions(
                transport_url=f"{self.url.replace('http', 'ws')}/ws/media?token={MEDIA_TOKEN}",
                transport_type="websocket",
                content_type="audio",
                audio_channel_type="mixed",
                start_media_streaming=True,
                enable_bidirectional=True,
                audio_format=self.audio_format,
                enable_dtmf_tones=True,
            ),
        )

    async def _speak(self, ws: WebSocket) -> None:
        rate = 24000 if self.audio_format == "pcm24KMono" else 16000
        pcm = tone(rate, 1.0)
        chunk = len(pcm) // 5
        for i in range(5):
            data = base64.b64encode(pcm[i * chunk : (i + 1) * chunk]).decode()
            if i == 1:  # ACS accepts camelCase too
                await ws.send_text(orjson.dumps({"kind": "audioData", "audioData": {"data": data}}).decode())
            else:
                message = {"Kind": "AudioData", "AudioData": {"Data": data}, "StopAudio": None}
                await ws.send_text(orjson.dumps(message).decode())
        await ws.send_text("this is not a media message")
        await asyncio.sleep(0.5)
        await ws.send_text(orjson.dumps({"Kind": "StopAudio", "AudioData": None, "StopAudio": {}}).decode())
        if self.behaviour == "hang_up":
            await asyncio.sleep(0.3)
            call_id = self.ws_headers["x-ms-call-connection-id"]
            assert self.client is not None
            await self.client.get_call_connection(call_id).hang_up(is_for_everyone=True)

    async def __aenter__(self) -> MiniBackend:
        self.client = CallAutomationClient(self.endpoint, AzureKeyCredential(self.access_key))
        await self.served.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.served.stop()
        if self.client is not None:
            await self.client.close()


@pytest.fixture
async def sim() -> AsyncIterator[AcsSimulator]:
    async with AcsSimulator(port=0, ring_s=0.05) as simulator:
        yield simulator


@pytest.fixture
async def backend(sim: AcsSimulator) -> AsyncIterator[MiniBackend]:
    async with MiniBackend(sim.endpoint, sim.access_key) as mini:
        yield mini


@pytest.fixture
async def client(sim: AcsSimulator) -> AsyncIterator[CallAutomationClient]:
    endpoint, key = parse_connection_string(sim.connection_string)
    async with CallAutomationClient(endpoint, AzureKeyCredential(key)) as sdk:
        yield sdk


async def jwks_set(sim: AcsSimulator) -> jwt.PyJWKSet:
    async with httpx.AsyncClient() as http:
        return jwt.PyJWKSet.from_dict((await http.get(sim.jwks_url)).json())


def verify_acs_jwt(keys: jwt.PyJWKSet, authorization: str, sim: AcsSimulator) -> dict[str, Any]:
    scheme, _, token = authorization.partition(" ")
    assert scheme == "Bearer"
    key = keys[jwt.get_unverified_header(token)["kid"]]
    return jwt.decode(token, key.key, algorithms=["RS256"], audience=sim.resource_id, issuer=sim.issuer)


async def wait_for(predicate: Any, timeout_s: float = 10.0) -> None:
    """Poll a condition on the in-test backend's records (a hang guard, not a timing assertion)."""
    deadline = time.monotonic() + timeout_s
    while True:
        if predicate():
            return
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.02)


def streaming_options(backend: MiniBackend, audio_format: str = "pcm16KMono") -> MediaStreamingOptions:
    return MediaStreamingOptions(
        transport_url=f"{backend.url.replace('http', 'ws')}/ws/media?token={MEDIA_TOKEN}",
        transport_type="websocket",
        content_type="audio",
        audio_channel_type="mixed",
        start_media_streaming=True,
        enable_bidirectional=True,
        audio_format=audio_format,
    )


# ------------------------------------------------------------------ REST API through the SDK ----------------


async def test_answer_call_returns_call_connection_properties(sim, backend, client):
    call = sim.register_incoming_call(to_number="+18005550100", from_number=CALLER)

    props = await client.answer_call(
        call.incoming_call_context,
        f"{backend.url}/api/callbacks",
        operation_context="ctx-1",
        media_streaming=streaming_options(backend, "pcm24KMono"),
    )

    assert props.call_connection_id == call.call_connection_id
    assert props.server_call_id == call.server_call_id
    assert props.correlation_id == call.correlation_id
    assert props.call_connection_state == "connecting"
    assert props.callback_url == f"{backend.url}/api/callbacks"
    assert props.source.raw_id == f"4:{CALLER}"
    assert [t.raw_id for t in props.targets] == ["4:+18005550100"]
    assert props.answered_for.properties["value"] == "+18005550100"
    assert props.media_streaming_subscription.id == call.subscription_id
    assert props.media_streaming_subscription.subscribed_content_types == ["audio"]

    answer = sim.requests[-1]
    assert (answer.method, answer.path, answer.status_code) == (
        "POST",
        "/calling/callConnections:answer",
        200,
    )
    assert answer.query == {"api-version": "2026-03-12"}
    assert answer.body == {
        "incomingCallContext": call.incoming_call_context,
        "callbackUri": f"{backend.url}/api/callbacks",
        "operationContext": "ctx-1",
        "mediaStreamingOptions": {
            "transportType": "websocket",
            "audioChannelType": "mixed",
            "transportUrl": f"{backend.url.replace('http', 'ws')}/ws/media?token={MEDIA_TOKEN}",
            "contentType": "audio",
            "startMediaStreaming": True,
            "enableBidirectional": True,
            "audioFormat": "pcm24KMono",
        },
    }
    assert answer.headers["authorization"].startswith(
        "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&"
    )

    # the media socket opens with ACS's headers and the backend's query string intact
    await wait_for(lambda: backend.inbound)
    assert backend.ws_query == {"token": MEDIA_TOKEN}
    assert backend.ws_headers["x-ms-call-connection-id"] == call.call_connection_id
    assert backend.ws_headers["x-ms-call-correlation-id"] == call.correlation_id
    claims = verify_acs_jwt(await jwks_set(sim), backend.ws_headers["authorization"], sim)
    assert claims["exp"] - claims["iat"] == 300
    assert backend.inbound[0][1] == {
        "kind": "AudioMetadata",
        "audioMetadata": {
            "subscriptionId": call.subscription_id,
            "encoding": "PCM",
            "sampleRate": 24000,
            "channels": 1,
            "length": 960,
        },
    }

    live = await client.get_call_connection(props.call_connection_id).get_call_properties()
    assert live.call_connection_state == "connected"
    assert live.media_streaming_subscription.state == "active"

    await client.get_call_connection(props.call_connection_id).hang_up(is_for_everyone=True)
    await asyncio.wait_for(call.ended.wait(), 10)
    await backend.ws_closed_by_peer.wait()
    assert sim.requests[-1].path == f"/calling/callConnections/{call.call_connection_id}:terminate"
    assert sim.requests[-1].status_code == 204
    await wait_for(lambda: "Microsoft.Communication.CallDisconnected" in backend.callback_types())
    assert backend.callback_types()[:2] == [
        "Microsoft.Communication.CallConnected",
        "Microsoft.Communication.ParticipantsUpdated",
    ]
    assert call.hung_up_by == "backend"


async def test_wrong_access_key_is_rejected_with_401(sim):
    wrong = base64.b64encode(b"not-the-simulator-key").decode()
    async with CallAutomationClient(sim.endpoint, AzureKeyCredential(wrong)) as bad_client:
        with pytest.raises(HttpResponseError) as caught:
            await bad_client.answer_call("whatever", "http://127.0.0.1:9/cb")
    assert caught.value.status_code == 401
    assert sim.requests[-1].status_code == 401
    assert "signature" in caught.value.message.lower()


async def test_endpoint_with_trailing_slash_fails_like_acs_and_says_why(sim):
    async with CallAutomationClient(sim.endpoint + "/", AzureKeyCredential(sim.access_key)) as slash_client:
        with pytest.raises(HttpResponseError) as caught:
            await slash_client.get_call_connection("x").get_call_properties()
    assert caught.value.status_code == 401
    assert "trailing slash" in caught.value.message


async def test_missing_api_version_is_a_400(sim):
    url = f"{sim.endpoint}/calling/callConnections/abc"
    async with httpx.AsyncClient() as http:
        response = await http.get(url, headers=sign_request(sim.access_key, "GET", url))
        unsigned = await http.get(url + "?api-version=2026-03-12")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "MissingApiVersionParameter"
    assert unsigned.status_code == 401
    assert unsigned.json()["error"]["code"] == "Unauthorized"


async def test_create_call_connects_then_transfer_ends_it(sim, backend, client):
    props = await client.create_call(
        PhoneNumberIdentifier("+15553334444"),
        f"{backend.url}/api/callbacks",
        source_caller_id_number=PhoneNumberIdentifier("+18005550100"),
        operation_context="outbound-1",
    )
    assert props.call_connection_state == "connecting"
    assert [t.raw_id for t in props.targets] == ["4:+15553334444"]
    create = sim.requests[-1]
    assert (create.path, create.status_code) == ("/calling/callConnections", 201)
    assert create.body["targets"] == [{"rawId": "4:+15553334444", "phoneNumber": {"value": "+15553334444"}}]
    assert create.body["sourceCallerIdNumber"] == {"value": "+18005550100"}

    await wait_for(lambda: "Microsoft.Communication.CallConnected" in backend.callback_types())
    connection = client.get_call_connection(props.call_connection_id)
    participants = [p async for p in connection.list_participants()]
    assert {p.identifier.raw_id for p in participants} == {"4:+18005550100", "4:+15553334444"}

    await connection.play_media(TextSource(text="Please hold."), operation_context="play-1")
    await wait_for(lambda: "Microsoft.Communication.PlayCompleted" in backend.callback_types())

    result = await connection.transfer_call_to_participant(
        PhoneNumberIdentifier("+15559990000"), operation_context="xfer-1"
    )
    assert result.operation_context == "xfer-1"
    await wait_for(lambda: "Microsoft.Communication.CallDisconnected" in backend.callback_types())
    types = backend.callback_types()
    assert types.index("Microsoft.Communication.CallTransferAccepted") < types.index(
        "Microsoft.Communication.CallDisconnected"
    )
    accepted = next(b[0] for _, b in backend.callbacks if b[0]["type"].endswith("CallTransferAccepted"))
    assert accepted["data"]["transferTarget"]["rawId"] == "4:+15559990000"
    assert accepted["data"]["operationContext"] == "xfer-1"
    with pytest.raises(HttpResponseError) as gone:
        await connection.get_call_properties()
    assert gone.value.status_code == 404


async def test_callbacks_are_cloudevents_with_fresh_valid_jwts(sim, backend, client):
    call = sim.register_incoming_call()
    await client.answer_call(call.incoming_call_context, f"{backend.url}/api/callbacks")
    await client.get_call_connection(call.call_connection_id).hang_up(is_for_everyone=False)
    await asyncio.wait_for(call.ended.wait(), 10)

    keys = await jwks_set(sim)
    tokens = set()
    for headers, body in backend.callbacks:
        claims = verify_acs_jwt(keys, headers["authorization"], sim)
        assert claims["nbf"] <= time.time() < claims["exp"]
        tokens.add(headers["authorization"])
        (event,) = body
        assert event["specversion"] == "1.0"
        assert event["source"] == f"calling/callConnections/{call.call_connection_id}"
        assert event["data"]["callConnectionId"] == call.call_connection_id
        assert event["data"]["publicEventType"] == event["type"]
    assert len(tokens) == len(backend.callbacks) >= 3
    async with httpx.AsyncClient() as http:
        oidc = (await http.get(sim.openid_configuration_url)).json()
    assert oidc["issuer"] == defaults.SIMULATOR_ISSUER
    assert oidc["jwks_uri"] == sim.jwks_url


async def test_answering_after_the_caller_gave_up_posts_answer_failed(sim, backend, client):
    call = sim.register_incoming_call()
    call.abandon()
    await client.answer_call(call.incoming_call_context, f"{backend.url}/api/callbacks")
    await wait_for(lambda: backend.callbacks)
    assert backend.callback_types() == ["Microsoft.Communication.AnswerFailed"]
    assert not call.answered.is_set()


async def test_unknown_incoming_call_context_is_a_400(client):
    with pytest.raises(HttpResponseError) as caught:
        await client.answer_call("no-such-context", "http://127.0.0.1:9/cb")
    assert caught.value.status_code == 400


async def test_a_media_socket_the_backend_refuses_fails_the_call_cleanly(sim, backend, client):
    call = sim.register_incoming_call()
    options = streaming_options(backend)
    options.transport_url = options.transport_url.replace(MEDIA_TOKEN, "forged")
    await client.answer_call(
        call.incoming_call_context, f"{backend.url}/api/callbacks", media_streaming=options
    )
    await wait_for(lambda: "Microsoft.Communication.MediaStreamingFailed" in backend.callback_types())
    assert "HTTP 403" in call.media_error
    assert call.timeline.first("media_failed") is not None
    await client.get_call_connection(call.call_connection_id).hang_up(is_for_everyone=True)
    await asyncio.wait_for(call.ended.wait(), 10)


# ------------------------------------------------------------------ a whole call ---------------------------


def write_wav(path: Path, pcm: bytes, rate: int) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm)
    return path


async def test_place_call_runs_the_whole_inbound_flow(sim, backend, tmp_path):
    caller_wav = write_wav(tmp_path / "caller.wav", tone(8000, 0.5, hz=300), 8000)
    recording = tmp_path / "agent.wav"
    started = time.monotonic()

    result = await sim.place_call(
        backend.url,
        [PlayWav(caller_wav), SendDtmf("1"), WaitForAgent(start_timeout_s=5), Pause(0.1)],
        from_number=CALLER,
        hang_up_after_silence_s=0.5,
        max_duration_s=30,
        record_path=recording,
    )
    elapsed_ms = (time.monotonic() - started) * 1000

    # Event Grid: validation handshake, then IncomingCall
    assert result.validation.ok
    (validation_headers, _), (incoming_headers, incoming) = backend.webhook_posts[:2]
    assert validation_headers["aeg-event-type"] == "SubscriptionValidation"
    assert incoming_headers["aeg-event-type"] == "Notification"
    assert incoming[0]["data"]["from"] == {
        "kind": "phoneNumber",
        "rawId": f"4:{CALLER}",
        "phoneNumber": {"value": CALLER},
    }
    assert result.answer_request["mediaStreamingOptions"]["audioFormat"] == "pcm16KMono"

    # media: metadata first, then paced 20 ms frames with ACS's timestamps and caller id
    assert result.media_connected and result.media_error is None
    kinds = [m["kind"] for _, m in backend.inbound]
    assert kinds[0] == "AudioMetadata"
    assert backend.inbound[0][1]["audioMetadata"]["sampleRate"] == 16000
    assert backend.inbound[0][1]["audioMetadata"]["length"] == 640
    frames = [m["audioData"] for _, m in backend.inbound if m["kind"] == "AudioData"]
    assert len(frames) == result.frames_sent
    assert all(len(base64.b64decode(f["data"])) == 640 for f in frames)
    assert all(f["participantRawID"] == f"4:{CALLER}" for f in frames)
    assert {f["silent"] for f in frames} == {True, False}
    assert len(frames) <= elapsed_ms / 20 + 5, "frames must be paced in real time, not sent in a burst"
    stamps = [np.datetime64(f["timestamp"].rstrip("Z")) for f in frames[:50]]
    assert {int((b - a) / np.timedelta64(1, "ms")) for a, b in itertools.pairwise(stamps)} == {20}
    assert {"kind": "DtmfData", "dtmfData": {"data": "1"}} in [m for _, m in backend.inbound]

    # the agent's audio was heard and recorded, and StopAudio cut it
    samples = np.frombuffer(result.agent_pcm, dtype="<i2").astype(np.float64)
    assert np.sqrt(np.mean(samples**2)) > 100
    assert result.agent_audio_messages == 5
    assert result.stop_audio_count == 1
    assert result.malformed_media_messages == 1
    with wave.open(str(recording)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (16000, 1, 2)

    # the timeline tells the story in order
    first = {kind: result.timeline.first(kind).t_ms for kind in set(result.timeline.kinds())}
    story = [
        "call_placed",
        "answered",
        "connected",
        "media_connected",
        "agent_audio_start",
        "stop_audio_received",
        "agent_audio_stop",
        "hangup",
        "disconnected",
    ]
    assert [first[k] for k in story] == sorted(first[k] for k in story)
    assert (
        first["media_connected"]
        <= first["caller_speech_start"]
        < first["caller_speech_end"]
        < first["hangup"]
    )
    assert result.timeline.first("dtmf_sent").detail == {"digit": "1"}
    assert result.hung_up_by == "caller"
    assert backend.ws_closed_by_peer.is_set()

    # callbacks: posted in order, accepted, each with a valid token
    types = [c.event_type.rsplit(".", 1)[1] for c in result.callbacks]
    assert types[:2] == ["CallConnected", "ParticipantsUpdated"]
    assert types[-1] == "CallDisconnected"
    assert all(c.status_code == 200 for c in result.callbacks)
    keys = await jwks_set(sim)
    for c in result.callbacks:
        verify_acs_jwt(keys, f"Bearer {c.token}", sim)
    assert result.warnings == []


async def test_place_call_24k_and_the_backend_hangs_up(sim):
    async with MiniBackend(
        sim.endpoint, sim.access_key, audio_format="pcm24KMono", behaviour="hang_up"
    ) as mini:
        result = await sim.place_call(mini.url, [Pause(30)], max_duration_s=30)
    assert mini.inbound[0][1]["audioMetadata"] | {"subscriptionId": "x"} == {
        "subscriptionId": "x",
        "encoding": "PCM",
        "sampleRate": 24000,
        "channels": 1,
        "length": 960,
    }
    assert all(len(base64.b64decode(m["audioData"]["data"])) == 960 for _, m in mini.inbound[1:])
    assert result.sample_rate == 24000
    assert result.hung_up_by == "backend"
    assert result.timeline.first("hangup").detail["by"] == "backend"
    assert result.callbacks[-1].event_type == "Microsoft.Communication.CallDisconnected"
    assert mini.ws_closed_by_peer.is_set()


async def test_unreachable_backend_is_a_clear_error(sim):
    with socket_closed_port() as port:
        with pytest.raises(BackendUnreachable, match="not reachable"):
            await sim.place_call(f"http://127.0.0.1:{port}", [Pause(0.1)])


async def test_backend_that_never_answers_is_a_clear_error(sim):
    async with MiniBackend(sim.endpoint, sim.access_key, behaviour="silent_webhook") as mini:
        with pytest.raises(CallNotAnswered, match=r"did not answer within 0\.5 s"):
            await sim.place_call(mini.url, [Pause(0.1)], answer_timeout_s=0.5)


@pytest.mark.skipif(
    importlib.util.find_spec("voice.tts.local") is None, reason="voice.tts.local not available yet"
)
async def test_caller_can_speak_with_the_project_tts(sim, backend):
    result = await sim.place_call(backend.url, [Say("I lost my card")], hang_up_after_silence_s=0.3)
    start, end = result.timeline.first("caller_speech_start"), result.timeline.first("caller_speech_end")
    assert start is not None and end is not None and end.t_ms - start.t_ms > 300
    assert result.script_error is None


async def test_cli_places_a_call_and_writes_the_recording(tmp_path):
    with socket_closed_port() as sim_port:
        pass
    async with MiniBackend(f"http://127.0.0.1:{sim_port}", defaults.SIMULATOR_ACCESS_KEY) as mini:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "apps.acs_simulator",
            "--backend",
            mini.url,
            "--port",
            str(sim_port),
            "--pause",
            "0.2",
            "--dtmf",
            "5",
            "--hangup-after-silence",
            "0.3",
            "--max-seconds",
            "20",
            "--out",
            str(tmp_path / "agent.wav"),
            "--json",
            str(tmp_path / "timeline.json"),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, stderr.decode()
    text = stdout.decode()
    assert "agent_audio_start" in text and "recording: " in text
    assert (tmp_path / "agent.wav").stat().st_size > 44
    events = orjson.loads((tmp_path / "timeline.json").read_bytes())
    assert events[0]["event"] == "call_placed"


@contextlib.contextmanager
def socket_closed_port() -> Any:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    yield port
