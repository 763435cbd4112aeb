"""Browser sessions over WebRTC: the offer/answer and trickled candidates that `api/v1/sessions.py` serves,
and the peer connections this replica runs.

The offer takes the session's media slot (`CallService.claim_media`, on every replica), so a session has one
peer connection and a second offer is refused. The peer (`WebRtcTransport`) then runs the conversation on the
call core like any channel, on a task this object owns; its live events go to the browser's data channel.
When the conversation ends (the browser leaves, ICE fails, the agent hangs up, DELETE), the task closes the
peer connection, releases the slot and ends the session.

A candidate may reach a replica that does not hold the peer (a load balancer without affinity): it is routed
to the owner over Redis like a hang-up (`AddIceCandidate`).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from apps.backend.calls.routing import AddIceCandidate
from apps.backend.calls.service import CallService
from apps.backend.logging_setup import bound_call_id
from apps.backend.sessions.service import SessionService
from apps.backend.setting_values import IceServer
from apps.backend.settings import Settings
from apps.backend.storage.call_store import CallChannel
from voice.transports.webrtc_signaling import InvalidCandidate, SignalingStateError, parse_candidate

if TYPE_CHECKING:  # aiortc costs ~0.3 s of start-up: imported with the first peer (or `preload`, after ready)
    from aiortc import RTCIceServer

    from voice.transports.webrtc import WebRtcTransport

WEBRTC_MODULE = "voice.transports.webrtc"

log = logging.getLogger(__name__)

MAX_CANDIDATES_PER_REQUEST = 32


class SessionDescription(BaseModel):
    """RTCSessionDescription's JSON (`pc.localDescription`): the browser's offer, our answer."""

    model_config = ConfigDict(extra="ignore")

    type: str = Field(pattern="^(offer|answer)$")
    sdp: str = Field(min_length=1, max_length=64 * 1024)


class IceCandidate(BaseModel):
    """RTCIceCandidate.toJSON(): `candidate` empty means end of candidates."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    candidate: str = Field(max_length=1024)
    sdp_mid: str | None = Field(None, alias="sdpMid", max_length=64)
    sdp_mline_index: int | None = Field(None, alias="sdpMLineIndex", ge=0, le=64)


class CandidatesRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    candidates: list[IceCandidate] = Field(min_length=1, max_length=MAX_CANDIDATES_PER_REQUEST)


class SessionStateError(Exception):
    """The session cannot take this signaling step now (ended, wrong channel): answered 409."""


def rtc_ice_servers(servers: list[IceServer]) -> list[RTCIceServer]:
    from aiortc import RTCIceServer

    return [RTCIceServer(urls=s.urls, username=s.username, credential=s.credential) for s in servers]


class WebRtcSessions:
    def __init__(self, *, settings: Settings, sessions: SessionService, calls: CallService) -> None:
        self._settings = settings
        self._sessions = sessions
        self._calls = calls
        self._peers: dict[str, WebRtcTransport] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def preload(self) -> None:
        """Import the WebRTC stack (aiortc, PyAV) in a thread, so the first peer does not import it on the
        event loop; the service starts without it."""
        await asyncio.to_thread(importlib.import_module, WEBRTC_MODULE)

    @property
    def live_peers(self) -> int:
        return len(self._peers)

    async def offer(self, session_id: str, offer: SessionDescription) -> SessionDescription:
        """Answer the browser's offer and start the session's conversation. Raises SessionNotFound,
        SessionStateError (ended, not a webrtc session, already offered), WebRtcError (bad SDP), and
        RedisError/OSError when the media slot cannot be checked."""
        if offer.type != "offer":
            raise SignalingStateError(f"expected an offer, got an {offer.type}")
        record = await self._sessions.get(session_id)
        if record.channel is not CallChannel.WEBRTC:
            raise SessionStateError(f"session is for {record.channel.value}, not webrtc")
        if record.status.is_final:
            raise SessionStateError("session has ended")
        with bound_call_id(session_id):
            if not await self._calls.claim_media(session_id):
                raise SessionStateError("this session already has an offer")
            from voice.transports.webrtc import WebRtcTransport

            transport = WebRtcTransport(
                call_id=session_id,
                ice_servers=rtc_ice_servers(self._settings.session_ice_servers),
                connect_timeout_s=self._settings.session_connect_timeout_seconds,
                jitter_frames=self._settings.webrtc_jitter_frames,
            )
            try:
                answer = await transport.answer(offer.sdp)
            except BaseException:
                await transport.close(reason="offer refused")
                await self._calls.release_media(session_id)
                raise
            self._peers[session_id] = transport
            task = asyncio.create_task(self._run(session_id, transport), name=f"webrtc-session:{session_id}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            log.info("webrtc offer answered")
        return SessionDescription(type="answer", sdp=answer)

    async def _run(self, session_id: str, transport: WebRtcTransport) -> None:
        try:
            await self._sessions.run_session(
                session_id, transport, send_event=_data_channel_sender(transport), channel_event="webrtc"
            )
        except Exception:
            log.exception("webrtc session failed", extra={"call_id": session_id})
        finally:
            await transport.close(reason="session over")
            if self._peers.get(session_id) is transport:
                del self._peers[session_id]
            await self._calls.release_media(session_id)

    async def add_candidates(self, session_id: str, candidates: list[IceCandidate]) -> None:
        """Trickled candidates, to this replica's peer or the owner's. Raises SessionNotFound,
        SessionStateError (ended, candidates before the offer) and WebRtcError (a malformed candidate)."""
        for candidate in candidates:  # all checked before any is used: a bad batch changes nothing
            if candidate.candidate.strip():
                parse_candidate(candidate.candidate, candidate.sdp_mid, candidate.sdp_mline_index)
        local = self._peers.get(session_id)
        if local is not None:
            for candidate in candidates:
                await local.add_candidate(
                    candidate.candidate, sdp_mid=candidate.sdp_mid, sdp_mline_index=candidate.sdp_mline_index
                )
            return
        record = await self._sessions.get(session_id)
        if record.status.is_final:
            raise SessionStateError("session has ended")
        for candidate in candidates:
            routed = await self._calls.route_ice_candidate(
                AddIceCandidate(
                    call_id=session_id,
                    candidate=candidate.candidate,
                    sdp_mid=candidate.sdp_mid,
                    sdp_mline_index=candidate.sdp_mline_index,
                )
            )
            if not routed:
                raise SessionStateError("ICE candidates must come after the SDP offer")

    async def candidate_from_another_replica(self, command: AddIceCandidate) -> None:
        peer = self._peers.get(command.call_id)
        if peer is None:
            return
        with bound_call_id(command.call_id), contextlib.suppress(SignalingStateError, InvalidCandidate):
            await peer.add_candidate(
                command.candidate, sdp_mid=command.sdp_mid, sdp_mline_index=command.sdp_mline_index
            )

    async def aclose(self) -> None:
        """On shutdown: every peer connection closes (its session ends), then the tasks are awaited."""
        await asyncio.gather(
            *(peer.close(1001, "server shutting down") for peer in list(self._peers.values())),
            return_exceptions=True,
        )
        tasks = list(self._tasks)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout=5)
        for task in tasks:
            task.cancel()


def _data_channel_sender(transport: WebRtcTransport) -> Callable[[str], Awaitable[bool]]:
    async def send_event(message: str) -> bool:
        return transport.send_event(message)

    return send_event
