"""A call has exactly one live media socket. A second WebSocket presenting the call's transportUrl token while
the call is live is refused with 1008, on the replica holding the call and on another sharing its Redis, and
the first call carries on with its transcript intact."""

from __future__ import annotations

import asyncio
import logging

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from apps.acs_simulator.caller_audio import Pause, WaitForAgent
from apps.acs_simulator.server import AcsSimulator
from apps.backend.calls.routing import owner_key, owner_replica
from tests.support import eventually, running_backend

POLICY_VIOLATION = 1008
AUDIO_METADATA = (
    '{"kind":"AudioMetadata","audioMetadata":{"subscriptionId":"dup","encoding":"PCM",'
    '"sampleRate":16000,"channels":1,"length":640}}'
)


def _transport_url(simulator: AcsSimulator) -> str:
    """The transportUrl (with its media token) the backend handed ACS when it answered the call."""
    answer = next(r for r in simulator.requests if r.method == "POST" and r.path.endswith(":answer"))
    url = answer.body["mediaStreamingOptions"]["transportUrl"]
    assert isinstance(url, str) and "token=" in url
    return url


async def _second_socket(url: str, simulator: AcsSimulator) -> tuple[int | None, str]:
    """Connect like ACS would (valid ACS JWT, audio metadata first) and report how the backend closed us."""
    headers = {"Authorization": simulator.tokens.bearer(), "x-ms-call-connection-id": "duplicate"}
    async with websockets.connect(url, additional_headers=headers, open_timeout=5) as ws:
        try:
            await ws.send(AUDIO_METADATA)
            message = await asyncio.wait_for(ws.recv(), timeout=10)
        except ConnectionClosed:
            return ws.close_code, ws.close_reason
    raise AssertionError(f"a second media socket for the call was served: {str(message)[:80]}")


async def test_a_second_media_socket_for_a_live_call_is_refused_on_every_replica(
    simulator: AcsSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="apps.backend.api.v1.media")
    async with running_backend(simulator) as owner:
        redis_url = owner.runtime.embedded_redis.url  # type: ignore[union-attr]
        async with running_backend(simulator, redis_url=redis_url) as other:
            call = asyncio.create_task(
                simulator.place_call(owner.url, [WaitForAgent(), Pause(30)], max_duration_s=40)
            )
            call_id = await eventually(lambda: next(iter(owner.runtime.calls._live), None), timeout=15)

            async def greeted() -> bool:
                transcript = await owner.runtime.transcripts.get(call_id)
                return transcript is not None and len(transcript.turns) >= 1

            await eventually(greeted, timeout=20)
            url = _transport_url(simulator)
            elsewhere = url.replace(owner.settings.websocket_base_url, other.settings.websocket_base_url)
            assert elsewhere != url

            for target in (url, elsewhere):
                code, reason = await _second_socket(target, simulator)
                assert (code, reason) == (POLICY_VIOLATION, "call already has a live media socket")
            assert other.runtime.calls.live_calls == 0
            assert list(owner.runtime.calls._live) == [call_id]
            claim = await owner.runtime.redis.get(owner_key(call_id))
            assert claim is not None and owner_replica(claim) == owner.runtime.registry_sync.replica_id
            refusals = [
                r
                for r in caplog.records
                if r.getMessage() == "media socket rejected"
                and getattr(r, "reason", None) == "call already has a live media socket"
            ]
            assert len(refusals) == 2

            # The first call is untouched: it still hears keys, and its transcript is one conversation.
            async with owner.admin() as admin:
                pressed = await admin.post(f"/api/v1/calls/{call_id}/dtmf", json={"digits": "4821#"})
            assert pressed.status_code == 202, pressed.text

            async def keyed_turn() -> bool:
                transcript = await owner.runtime.transcripts.get(call_id)
                return transcript is not None and any(t.kind == "dtmf" for t in transcript.turns)

            await eventually(keyed_turn, timeout=15)
            async with owner.admin() as admin:
                assert (await admin.delete(f"/api/v1/calls/{call_id}")).status_code == 200
            result = await asyncio.wait_for(call, timeout=20)
            assert result.hung_up_by == "backend"
            await eventually(lambda: call_id not in owner.runtime.calls._live, timeout=10)

            async def finished() -> bool:
                transcript = await owner.runtime.transcripts.get(call_id)
                return transcript is not None and transcript.outcome is not None

            await eventually(finished, timeout=10)
            transcript = await owner.runtime.transcripts.get(call_id)
            assert transcript is not None
            turns = transcript.turns
            assert [t.seq for t in turns] == list(range(len(turns)))
            assert turns[0].speaker == "agent" and turns[0].kind == "greeting"
            assert sum(t.kind == "greeting" for t in turns) == 1  # no second conversation was started
            assert [t.text for t in turns if t.kind == "dtmf"] == ["[dtmf]"]  # stored masked
            assert await owner.runtime.redis.get(owner_key(call_id)) is None  # released by its owner
