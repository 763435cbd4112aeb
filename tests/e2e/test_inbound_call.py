"""A phone call end to end: Event Grid -> answer (real SDK, HMAC) -> callbacks (JWT) -> media -> greeting -> hang-up.

Backend and ACS simulator are real servers on loopback; Redis is the embedded valkey server.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from apps.acs_simulator import timeline as tl
from apps.acs_simulator.caller_audio import Pause, Say, WaitForAgent
from apps.acs_simulator.events import incoming_call_event
from apps.acs_simulator.inbound import event_grid_headers
from apps.acs_simulator.server import AcsSimulator
from tests.support import Backend, eventually, running_backend


def _rms(pcm: bytes) -> float:
    samples = np.frombuffer(pcm, dtype=np.int16).astype(np.float64)
    return float(np.sqrt(np.mean(samples**2))) if samples.size else 0.0


async def _call_record(backend: Backend, call_id: str) -> dict:
    async with backend.admin() as admin:
        response = await admin.get(f"/api/v1/calls/{call_id}")
    assert response.status_code == 200, response.text
    return response.json()


async def _ended_record(backend: Backend, call_id: str) -> dict:
    async def ended() -> dict | None:
        record = await _call_record(backend, call_id)
        return record if record["status"] == "ended" else None

    return await eventually(ended)


@pytest.mark.parametrize(
    ("audio_format", "rate", "wire"), [("pcm16k", 16000, "pcm16KMono"), ("pcm24k", 24000, "pcm24KMono")]
)
async def test_caller_hears_the_greeting_and_the_call_record_ends(
    simulator: AcsSimulator, audio_format: str, rate: int, wire: str
) -> None:
    async with running_backend(simulator, acs_audio_format=audio_format) as backend:
        result = await simulator.place_call(backend.url, hang_up_after_silence_s=1.0, max_duration_s=40)

        # Event Grid handshake, then the answer request the real SDK sent, with bidirectional media.
        assert result.validation.ok
        media = result.answer_request["mediaStreamingOptions"]
        assert media["transportType"] == "websocket"
        assert media["contentType"] == "audio"
        assert media["startMediaStreaming"] is True
        assert media["enableBidirectional"] is True
        assert media["audioFormat"] == wire
        assert media["transportUrl"].startswith(
            backend.settings.websocket_base_url + "/api/v1/media/stream?token="
        )
        assert result.answer_request["callbackUri"] == backend.url + "/api/v1/calls/callbacks"

        # Media connected and the caller heard a spoken greeting at the call's rate.
        assert result.media_connected, result.media_error
        assert result.sample_rate == rate
        assert result.media_upgrade_headers.get("x-ms-call-connection-id") == result.call_connection_id
        assert 2.5 < result.agent_audio_s < 15.0, result.agent_audio_s
        assert _rms(result.agent_pcm) > 300  # speech, not digital silence or dither
        starts = result.timeline.of(tl.AGENT_AUDIO_START)
        assert starts, result.timeline.format_table()
        assert result.hung_up_by == "caller"
        # Every callback was signed, and the backend accepted it.
        assert result.callbacks and all(cb.status_code == 200 for cb in result.callbacks), result.callbacks

        # The record in Redis followed the call.
        record = await _ended_record(backend, result.call_connection_id)
        assert record["call_connection_id"] == result.call_connection_id
        assert record["caller"] == "+14255550123"
        assert record["scenario"] == "banking"
        assert record["audio_sample_rate"] == rate
        assert record["connected_at"] and record["media_started_at"] and record["ended_at"]
        event_types = [e["type"] for e in record["events"]]
        for expected in (
            "incoming_call",
            "answered",
            "CallConnected",
            "media_started",
            "agent_turn",
            "CallDisconnected",
        ):
            assert expected in event_types, event_types


async def test_backend_hang_up_ends_the_call_for_the_caller(
    simulator: AcsSimulator, backend: Backend
) -> None:
    """The admin API hangs up mid-call: ACS gets :terminate, the caller is disconnected, the record ends."""
    call = simulator.register_incoming_call(caller_display_name="Ada")
    event = incoming_call_event(
        to_number="+18005550100",
        from_number="+14255550123",
        server_call_id=call.server_call_id,
        caller_display_name="Ada",
        incoming_call_context=call.incoming_call_context,
        correlation_id=call.correlation_id,
    )
    async with backend.admin() as admin:
        posted = await admin.post(
            simulator.webhook_url(backend.url),
            json=[event.model_dump(by_alias=True, mode="json")],
            headers=event_grid_headers("Notification"),
        )
        assert posted.status_code == 200, posted.text
        record = await eventually(lambda: _media_started(backend, call.call_connection_id))
        assert record["caller_display_name"] == "Ada"
        assert backend.runtime.calls.live_calls == 1

        hung_up = await admin.delete(f"/api/v1/calls/{call.call_connection_id}")
        assert hung_up.status_code == 200, hung_up.text
        assert hung_up.json()["status"] == "ended"
        assert hung_up.json()["end_reason"] == "hung up by the api"

    await eventually(call.ended.is_set)
    # The transcript's outcome says the same: not taken for the caller hanging up.
    async with backend.admin() as admin:
        transcript = await eventually(lambda: _ended_transcript(admin, call.call_connection_id))
    assert transcript["outcome"]["reason"] == "hung up by the api"
    assert call.hung_up_by == "backend"
    assert any(r.method == "POST" and r.path.endswith(":terminate") for r in simulator.requests)
    await eventually(lambda: backend.runtime.calls.live_calls == 0)


async def _media_started(backend: Backend, call_connection_id: str) -> dict | None:
    record = await _call_record(backend, call_connection_id)
    return record if record["media_connected"] else None


async def test_caller_speech_is_detected_while_the_call_runs(
    simulator: AcsSimulator, backend: Backend
) -> None:
    # The caller talks over the greeting (a barge-in), then waits for the answer to what they said.
    script = [Pause(0.5), Say("Hello, I want to check my balance please."), WaitForAgent()]
    result = await simulator.place_call(backend.url, script, hang_up_after_silence_s=1.0, max_duration_s=40)
    assert result.script_error is None
    assert result.frames_sent > 100
    assert result.malformed_media_messages == 0
    record = await _ended_record(backend, result.call_connection_id)
    # The backend's VAD heard exactly one utterance of about the length the caller spoke, and the
    # transcript holds it as one caller turn.
    transcript = await backend.runtime.transcripts.get(record["call_id"])
    assert transcript is not None
    caller_turns = [t for t in transcript.turns if t.speaker == "caller"]
    assert len(caller_turns) == 1, transcript.turns
    turn = caller_turns[0]
    speech_ms = (turn.ended_at - turn.started_at).total_seconds() * 1000
    said = result.timeline.first(tl.CALLER_SPEECH_START), result.timeline.first(tl.CALLER_SPEECH_END)
    assert said[0] and said[1]
    assert abs(speech_ms - (said[1].t_ms - said[0].t_ms)) < 600, (speech_ms, said)
    assert "balance" in turn.text, turn.text


async def _ended_transcript(admin: Any, call_connection_id: str) -> dict[str, Any] | None:
    response = await admin.get(f"/api/v1/calls/{call_connection_id}/transcript")
    body: dict[str, Any] = response.json()
    return body if response.status_code == 200 and body.get("outcome") else None
