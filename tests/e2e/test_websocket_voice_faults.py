"""Bad input on the voice WebSocket gets a clear error (the session carries on) or a clean close with the
reason; a client that vanishes without a close frame ends its session and no other; and sessions opened and
closed one after another leave nothing behind."""

from __future__ import annotations

import asyncio
import json

from apps.backend.storage.call_store import CallRecord
from tests.e2e.voice_session_client import FRAME_BYTES, RATE, create_session, talking, voice_url
from tests.support import Backend, eventually

WEBM_HEADER = b"\x1aE\xdf\xa3"  # EBML: what a browser's MediaRecorder sends first


async def test_bad_messages_get_errors_and_the_session_carries_on(backend: Backend) -> None:
    session = await create_session(backend)
    async with talking(voice_url(session)) as voice:
        await voice.ws.send(bytes(FRAME_BYTES + 1))  # not whole samples
        await voice.ws.send(bytes(RATE * 2 + 2))  # over a second of audio
        await voice.ws.send("{not json")
        await voice.ws.send(json.dumps({"type": "dance"}))
        await voice.ws.send(json.dumps({"type": "dtmf", "digits": "12x"}))
        await voice.ws.send(" " * 9000)
        await voice.ws.send(WEBM_HEADER + bytes(FRAME_BYTES - 4))  # a MediaRecorder chunk, not samples
        await eventually(lambda: len(voice.of_type("error")) == 7, timeout=10)
        messages = [e["message"] for e in voice.of_type("error")]
        assert messages[:3] == [
            "audio is not whole PCM16 samples",
            "audio message longer than 1 s",
            "not JSON",
        ]
        assert (
            messages[3].startswith("bad control message")
            and messages[4] == "dtmf digits must be 0-9, *, #, A-D"
        )
        assert messages[5] == "text message over 8192 bytes"
        assert messages[6] == "audio must be raw PCM16 samples, not WebM"
        frames = voice.audio_frames
        await eventually(lambda: voice.audio_frames > frames + 10, timeout=20)  # the greeting goes on
        transport = backend.runtime.calls._live[session["session_id"]]
        assert transport.stats.malformed_in == 7
        assert voice.ws.close_code is None


async def test_an_unsupported_sample_rate_closes_with_1003_and_ends_the_session(backend: Backend) -> None:
    session = await create_session(backend)
    async with talking(voice_url(session), start=False) as voice:
        await voice.ws.send(json.dumps({"type": "start", "sample_rate": 8000}))
        await eventually(lambda: voice.ws.close_code is not None, timeout=10)
    code, reason = voice.ws.close_code, voice.ws.close_reason
    assert (code, reason) == (1003, "unsupported sample_rate 8000: 16000 or 24000")
    record = await backend.runtime.voice_sessions.get(session["session_id"])
    assert record.status == "ended" and record.end_reason == reason


async def test_a_flood_of_malformed_frames_closes_the_socket(backend: Backend) -> None:
    session = await create_session(backend)
    oversized = await create_session(backend)
    async with talking(voice_url(session)) as voice:
        for _ in range(20):
            await voice.ws.send(b"\x00")
        await eventually(lambda: voice.ws.close_code is not None, timeout=10)
    assert (voice.ws.close_code, voice.ws.close_reason) == (1008, "too many malformed messages")
    async with talking(voice_url(oversized)) as voice:
        for _ in range(20):
            await voice.ws.send(bytes(RATE * 4))
        await eventually(lambda: voice.ws.close_code is not None, timeout=10)
    assert (voice.ws.close_code, voice.ws.close_reason) == (1009, "too many oversized messages")
    await eventually(lambda: backend.runtime.calls.live_calls == 0, timeout=10)


async def test_twenty_sessions_in_a_row_leave_no_live_call_or_task_behind(backend: Backend) -> None:
    warm = await create_session(backend)  # the first session warms caches and shared drain tasks
    async with talking(voice_url(warm)) as voice:
        await eventually(lambda: voice.audio_frames > 0, timeout=20)
    await eventually(lambda: backend.runtime.calls.live_calls == 0, timeout=10)
    await asyncio.sleep(0.5)
    baseline = {t.get_name() for t in asyncio.all_tasks() if not t.done()}

    for i in range(20):
        session = await create_session(backend)
        async with talking(voice_url(session)) as voice:
            await eventually(lambda: voice.audio_frames > 0, timeout=20)
            if i % 2:  # half stop politely, half just vanish
                await voice.ws.send(json.dumps({"type": "stop"}))
                await eventually(lambda: voice.ws.close_code is not None, timeout=10)
        await eventually(lambda: backend.runtime.calls.live_calls == 0, timeout=10)

    def settled() -> bool:
        current = {t.get_name() for t in asyncio.all_tasks() if not t.done()}
        return len(current) <= len(baseline) and not any(":" in name for name in current - baseline)

    await eventually(settled, timeout=15)
    sessions = (await backend.runtime.voice_sessions.list(limit=30, cursor=None)).calls
    assert len(sessions) == 21 and {s.status for s in sessions} == {"ended"}


async def test_a_client_that_vanishes_without_closing_ends_only_its_own_session(backend: Backend) -> None:
    vanishing = await create_session(backend)
    staying = await create_session(backend)
    async with talking(voice_url(staying)) as other:
        async with talking(voice_url(vanishing)) as voice:
            await eventually(lambda: voice.audio_frames > 0 and other.audio_frames > 0, timeout=20)
            voice.ws.transport.abort()  # the TCP connection drops: no close frame, no stop
            record = await eventually(lambda: _ended(backend, vanishing["session_id"]), timeout=15)
        assert record.end_reason == "client left"
        await eventually(lambda: backend.runtime.calls.live_calls == 1, timeout=10)
        frames = other.audio_frames
        await eventually(lambda: other.audio_frames > frames + 10, timeout=20)  # the other one carries on
        assert other.ws.close_code is None
        assert list(backend.runtime.calls._live) == [staying["session_id"]]


async def _ended(backend: Backend, session_id: str) -> CallRecord | None:
    record = await backend.runtime.voice_sessions.get(session_id)
    return record if record.status.is_final else None
