"""A connected call's life: CallConnected, ParticipantsUpdated, media, the caller's script, the hang-up
(whoever does it), CallDisconnected. One coroutine per call, owned and cancelled by the simulator.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from apps.acs_simulator import events as ev
from apps.acs_simulator import timeline as tl
from apps.acs_simulator.caller_audio import SendDtmf
from apps.acs_simulator.media import MediaConnectError, MediaSession, MediaTarget

if TYPE_CHECKING:
    from apps.acs_simulator.call import SimulatedCall


async def run_connected(call: SimulatedCall) -> None:
    try:
        if call.state == "connecting":
            call.state = "connected"
        call.timeline.mark(tl.CONNECTED)
        call.post(ev.CALL_CONNECTED)
        call.post(ev.PARTICIPANTS_UPDATED, participants=call.participants(), sequence_number=1)
        if call.media_options is not None and call.media_options.start_media_streaming:
            await _start_media(call)
        await _converse(call)
    except asyncio.CancelledError:
        call.end("simulator", "simulator stopped")
        await _finish(call, drain_s=1.0)
        raise
    except Exception as exc:  # a simulator bug must still end the call cleanly
        call.warnings.append(f"simulator error: {exc!r}")
        _caller_hangs_up(call, f"simulator error: {exc!r}")
    await _finish(call)


def _media_update(status: str, details: str) -> dict[str, str]:
    return {"contentType": "Audio", "mediaStreamingStatus": status, "mediaStreamingStatusDetails": details}


async def _start_media(call: SimulatedCall) -> None:
    options = call.media_options
    assert options is not None and options.transport_url
    target = MediaTarget(
        options.transport_url,
        call.call_connection_id,
        call.correlation_id,
        call.subscription_id,
        call.sample_rate,
        call.caller.resolved_raw_id(),
    )
    media = MediaSession(target, call.timeline, call.tokens.bearer)
    try:
        await media.connect()
    except MediaConnectError as exc:
        call.media_error = str(exc)
        call.timeline.mark(tl.MEDIA_FAILED, error=str(exc))
        failure = ev.ResultInformation(code=500, sub_code=8581, message=f"Media streaming failed: {exc}")
        call.post(
            ev.MEDIA_STREAMING_FAILED,
            result=failure,
            media_streaming_update=_media_update("mediaStreamingFailed", "streamConnectionFailure"),
        )
        if call.options.end_on_media_failure:
            _caller_hangs_up(call, "media failed")
        return
    call.media = media
    call.legs.attach()
    call.timeline.mark(tl.MEDIA_CONNECTED, sample_rate=call.sample_rate)
    await media.start()
    call.post(
        ev.MEDIA_STREAMING_STARTED,
        media_streaming_update=_media_update("mediaStreamingStarted", "subscriptionStarted"),
    )
    if any(isinstance(s, SendDtmf) for s in call.script) and not options.enable_dtmf_tones:
        call.warnings.append(
            "the script sends DTMF but enableDtmfTones is not true: real ACS would not stream it"
        )


async def _converse(call: SimulatedCall) -> None:
    """Whichever ends the call first: the backend, the script (+ silence), lost media, max duration."""
    waits: dict[asyncio.Task[Any], str] = {asyncio.create_task(call.end_requested.wait()): "end"}
    media = call.media
    if media is not None:
        waits[asyncio.create_task(media.closed_by_backend.wait())] = "media_closed"
        if call.script or call.options.hang_up_after_silence_s is not None:
            script = media.play_script(
                call.script, call.options.hang_up_after_silence_s, call.options.max_duration_s
            )
            waits[asyncio.create_task(script)] = "script"
    try:
        done, _ = await asyncio.wait(
            waits, timeout=call.options.max_duration_s, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        for task in waits:
            task.cancel()
        await asyncio.gather(*waits, return_exceptions=True)
    first = {waits[t] for t in done}
    if call.end_requested.is_set():
        return
    if media is not None and media.closed_by_backend.is_set():
        call.timeline.mark(tl.MEDIA_CLOSED, by="backend")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(call.end_requested.wait(), call.options.media_grace_s)
        _caller_hangs_up(call, "backend closed the media WebSocket")
    elif "script" in first:
        task = next(t for t in done if waits[t] == "script")
        if not task.cancelled() and task.exception() is not None:
            call.script_error = str(task.exception())
            _caller_hangs_up(call, f"script error: {call.script_error}")
        else:
            _caller_hangs_up(call, "script done, agent silent")
    else:
        _caller_hangs_up(call, "max duration reached")


def _caller_hangs_up(call: SimulatedCall, reason: str) -> None:
    if not call.end_requested.is_set():
        call.timeline.mark(tl.HANGUP, by="caller", reason=reason)
    call.end("caller", reason)


async def _finish(call: SimulatedCall, drain_s: float = 10.0) -> None:
    if call.ended.is_set():
        return
    call.state = "disconnected"
    for task in list(call.side_tasks):
        task.cancel()
    await asyncio.gather(*call.side_tasks, return_exceptions=True)
    if call.media is not None:
        await call.media.close()
    result = ev.ResultInformation(
        code=200, sub_code=0, message=f"The conversation has ended ({call.end_reason})."
    )
    call.post(ev.CALL_DISCONNECTED, result=result)
    call.timeline.mark(tl.DISCONNECTED, by=call.hung_up_by, reason=call.end_reason)
    await call.callbacks.aclose(drain_s)
    call.ended.set()
