"""A browser's call over WebRTC: one aiortc `RTCPeerConnection` as a `MediaTransport`.

The server answers the browser's offer (`answer`), takes trickled candidates (`add_candidate`), reads the
remote audio track on a task of its own (decoded Opus -> PCM16 mono at the pipeline rate, 20 ms frames, see
`webrtc_audio.py`) and sends agent audio as `AgentAudioTrack`, which aiortc pulls on its own clock. A data
channel opened by the browser carries keys (`{"type":"dtmf","digits":"12#"}`) in and events out
(`send_event`; events sent before the browser's channel is open wait for it, up to MAX_PENDING_EVENTS).

aiortc gathers every candidate before `setLocalDescription` returns, so the answer carries all of ours; no
server-side trickle is needed. ICE servers default to none: aiortc's own default is a public STUN server,
which a contact-center backend must not reach unless configured to.

`receive()` returns None once the browser closes the connection, ICE or DTLS fails, or `close()` is called;
`close()` cancels the reader, stops our track and closes the peer connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Sequence
from typing import Final

from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcdatachannel import RTCDataChannel
from av import AudioFrame as AvAudioFrame
from pydantic import ValidationError

from voice.transports.base import AudioFrame, DtmfTone, InboundMedia, MediaStarted, TransportStats
from voice.transports.webrtc_audio import AgentAudioTrack, InboundAudio, frame_bytes_at
from voice.transports.webrtc_signaling import (
    DtmfMessage,
    InvalidOffer,
    SignalingStateError,
    check_offer,
    parse_candidate,
)

log = logging.getLogger(__name__)

MAX_DATA_CHANNEL_MESSAGE: Final = 4096
MAX_PENDING_EVENTS: Final = 256
_ENDED: Final = ("failed", "closed")


class WebRtcTransport:
    def __init__(
        self,
        *,
        call_id: str,
        sample_rate: int = 16000,
        ice_servers: Sequence[RTCIceServer] = (),
        max_inbound: int = 500,
        max_outbound_frames: int = 50,
        connect_timeout_s: float = 30.0,
    ) -> None:
        self.call_id = call_id
        self.sample_rate = sample_rate
        self.frame_bytes = frame_bytes_at(sample_rate)
        self.stats = TransportStats()
        self.inbound_dropped = 0
        """Inbound events dropped because `receive()` fell `max_inbound` events behind."""
        self.track = AgentAudioTrack(sample_rate=sample_rate, max_frames=max_outbound_frames)
        # Bounded: a consumer that stops reading loses the oldest audio, never grows memory.
        self._inbound: asyncio.Queue[InboundMedia | None] = asyncio.Queue(max_inbound)
        self._pc = RTCPeerConnection(RTCConfiguration(iceServers=list(ice_servers)))
        self._pc.on("track", self._on_track)
        self._pc.on("datachannel", self._on_datachannel)
        self._pc.on("connectionstatechange", self._on_connection_state)
        self._reader: asyncio.Task[None] | None = None
        self._connect_timeout_s = connect_timeout_s
        self._connect_timer: asyncio.TimerHandle | None = None
        self._channel: RTCDataChannel | None = None
        self._pending_events: deque[str] = deque(maxlen=MAX_PENDING_EVENTS)  # until the channel opens
        self._offered = False
        self.close_code: int | None = None
        self.close_reason = ""
        """Why the connection ended: set by `close()` or when the browser leaves / the connection fails."""
        self._ended = False  # no more inbound events: None is (or is about to be) queued
        self._closed = False

    @property
    def connection_state(self) -> str:
        return str(self._pc.connectionState)

    # --- signaling --------------------------------------------------------------------------------------
    async def answer(self, offer_sdp: str) -> str:
        """Answer the browser's SDP offer; returns our SDP answer (with all our candidates)."""
        if self._closed:
            raise SignalingStateError("the session is closed")
        if self._offered:
            raise SignalingStateError("this session already has an offer")
        check_offer(offer_sdp)
        self._offered = True
        # A browser that vanishes before ICE connects would otherwise hold the session until aioice gives up.
        self._connect_timer = asyncio.get_running_loop().call_later(
            self._connect_timeout_s, self._connect_expired
        )
        try:
            await self._pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        except Exception as exc:
            await self.close(reason="invalid offer")
            raise InvalidOffer(f"the SDP offer was refused ({type(exc).__name__}: {exc})") from exc
        for transceiver in self._pc.getTransceivers():
            if transceiver.kind != "audio":
                transceiver.direction = "inactive"  # no video: nothing would read it
        self._pc.addTrack(self.track)
        await self._pc.setLocalDescription(await self._pc.createAnswer())
        local = self._pc.localDescription
        if local is None:  # pragma: no cover - aiortc always sets it above
            raise SignalingStateError("no local description")
        return str(local.sdp)

    async def add_candidate(
        self, candidate: str, *, sdp_mid: str | None = None, sdp_mline_index: int | None = None
    ) -> None:
        """A trickled remote ICE candidate; an empty `candidate` is the browser's end-of-candidates."""
        if self._closed:
            raise SignalingStateError("the session is closed")
        if not self._offered:
            raise SignalingStateError("ICE candidates must come after the SDP offer")
        if not candidate.strip():
            return  # end of candidates: aioice keeps checking the pairs it has
        await self._pc.addIceCandidate(parse_candidate(candidate, sdp_mid, sdp_mline_index))

    def send_event(self, message: str) -> bool:
        """Send a JSON event on the browser's data channel, or keep it until the channel opens (the oldest
        go beyond MAX_PENDING_EVENTS). False once the transport is closed."""
        if self._closed:
            return False
        channel = self._channel
        if channel is None or channel.readyState != "open":
            self._pending_events.append(message)
            return True
        channel.send(message)
        return True

    # --- MediaTransport ---------------------------------------------------------------------------------
    async def receive(self) -> InboundMedia | None:
        if self._closed and self._inbound.empty():
            return None
        event = await self._inbound.get()
        if event is None:
            self._put_end()  # later calls return None too
            return None
        self.stats.messages_in += 1
        if isinstance(event, AudioFrame):
            self.stats.audio_frames_in += 1
        return event

    async def send_audio(self, frame: bytes) -> None:
        if not self._closed:
            self.track.push(frame)
            self.stats.audio_frames_out += 1

    async def send_stop_audio(self) -> None:
        """Barge-in: whatever agent audio is still queued for the track is dropped at once."""
        if not self._closed:
            self.track.clear()
            self.stats.stop_audio_out += 1

    async def close(self, code: int = 1000, reason: str = "") -> None:
        if self._closed:
            return
        self._closed = True
        self._ended = True
        if self.close_code is None:
            self.close_code, self.close_reason = code, reason
        self._put_end()
        if self._connect_timer is not None:
            self._connect_timer.cancel()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        self.track.stop()
        await self._pc.close()
        log.info("webrtc transport closed", extra={"call_id": self.call_id, "code": code, "reason": reason})

    # --- aiortc callbacks -------------------------------------------------------------------------------
    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind != "audio" or self._reader is not None or self._closed:
            return
        self._reader = asyncio.create_task(self._read(track), name=f"webrtc-in:{self.call_id}")

    def _on_datachannel(self, channel: RTCDataChannel) -> None:
        self._channel = channel
        channel.on("message", self._on_message)
        if channel.readyState == "open":
            self._flush_events()
        else:
            channel.on("open", self._flush_events)

    def _flush_events(self) -> None:
        channel = self._channel
        while channel is not None and channel.readyState == "open" and self._pending_events:
            channel.send(self._pending_events.popleft())

    def _on_message(self, message: str | bytes) -> None:
        self.stats.messages_in += 1
        if not isinstance(message, str) or len(message) > MAX_DATA_CHANNEL_MESSAGE:
            self.stats.malformed_in += 1
            return
        try:
            dtmf = DtmfMessage.model_validate_json(message)
        except ValidationError:
            self.stats.malformed_in += 1
            return
        for digit in dtmf.digits:
            self._put(DtmfTone(digit=digit))

    def _on_connection_state(self) -> None:
        state = self._pc.connectionState
        if state == "connected" and self._connect_timer is not None:
            self._connect_timer.cancel()
        if state in _ENDED:
            log.info("webrtc connection ended", extra={"call_id": self.call_id, "state": state})
            self._end("browser left" if state == "closed" else "webrtc connection failed")

    def _connect_expired(self) -> None:
        if self._pc.connectionState != "connected":
            log.info("webrtc connection not established in time", extra={"call_id": self.call_id})
            self._end("webrtc connection not established in time")

    # --- inbound ----------------------------------------------------------------------------------------
    async def _read(self, track: MediaStreamTrack) -> None:
        audio = InboundAudio(self.sample_rate)
        self._put(
            MediaStarted(
                sample_rate=self.sample_rate, channels=1, frame_bytes=self.frame_bytes, subscription_id=None
            )
        )
        try:
            while True:
                frame = await track.recv()
                if not isinstance(frame, AvAudioFrame):
                    self.stats.malformed_in += 1
                    continue
                try:
                    frames = audio.push(frame)
                except ValueError:
                    self.stats.malformed_in += 1
                    continue
                for pcm in frames:
                    self._put(AudioFrame(pcm=pcm, silent=False, timestamp=None, participant=None))
        except MediaStreamError:
            pass  # the remote track ended: the peer connection closed
        finally:
            self._end("browser left")

    def _put(self, event: InboundMedia) -> None:
        if self._ended:
            return
        if self._inbound.full():
            self._inbound.get_nowait()  # the oldest goes: live audio matters more than stale audio
            self.inbound_dropped += 1
        self._inbound.put_nowait(event)

    def _end(self, reason: str) -> None:
        if not self._ended:
            self._ended = True
            if self.close_code is None:
                self.close_code, self.close_reason = 1000, reason
            self._put_end()

    def _put_end(self) -> None:
        if self._inbound.full():
            self._inbound.get_nowait()
            self.inbound_dropped += 1
        self._inbound.put_nowait(None)
