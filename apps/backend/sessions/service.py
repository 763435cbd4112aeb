"""Browser voice sessions: a call record (channel `websocket` / `webrtc`) with minted tokens, run on the call
core like a phone call (same scenarios, agents, tools, orchestrators, transcripts, live events).

A session is created by `create` (status `incoming`, waiting for the browser), goes `connected` when its voice
socket is accepted, and ends when the client stops or leaves, the agent hangs up, or `end` (DELETE) is called;
its media is closed wherever it runs through the call router's CloseMedia.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Protocol

import redis.asyncio as aioredis
from pydantic import BaseModel, Field

from apps.backend.calls.live_event_subscription import CallEventSubscription
from apps.backend.calls.live_events import CallEventPublisher
from apps.backend.calls.service import CallService
from apps.backend.logging_setup import bound_call_id
from apps.backend.sessions.tokens import SessionTokenClaims, SessionTokenSigner, TokenPurpose
from apps.backend.setting_values import IceServer
from apps.backend.settings import Settings
from apps.backend.storage.call_store import (
    CallChannel,
    CallDirection,
    CallNotFound,
    CallPage,
    CallRecord,
    CallStatus,
    utcnow,
)
from voice.transports.base import MediaSocketClosed, MediaTransport
from voice.transports.websocket import DuplexSocket, WebSocketVoiceTransport

log = logging.getLogger(__name__)

SESSION_CHANNELS = (CallChannel.WEBSOCKET, CallChannel.WEBRTC, CallChannel.RELAY)
VOICE_PATH = "/api/v1/realtime/conversation"
RELAY_PATH = "/api/v1/realtime/relay"
MAX_FORWARDED_EVENTS = 256
"""Live events queued for a voice socket's client; beyond it (a client not reading) they are dropped."""


class SessionNotFound(KeyError):
    pass


class SessionRequestError(ValueError):
    """A create request naming something the registry does not have (answered 422 with the reason)."""


class RateLimited(Exception):
    pass


class CreateSessionRequest(BaseModel):
    model_config = {"extra": "forbid"}

    scenario: str = Field(min_length=1, max_length=128)
    agent: str | None = Field(None, min_length=1, max_length=128)
    language: str | None = Field(None, pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
    channel: CallChannel = CallChannel.WEBSOCKET


class SessionUrls(BaseModel):
    websocket: str
    events: str
    offer: str
    candidates: str


class SessionCreated(BaseModel):
    session_id: str
    channel: CallChannel
    token: str
    """For the voice socket (`urls.websocket`) or the WebRTC offer: purpose `media`."""
    events_token: str
    """For the events socket (`urls.events`): purpose `events`."""
    expires_at: int
    ice_servers: list[IceServer]
    urls: SessionUrls


class SessionService:
    def __init__(self, *, settings: Settings, calls: CallService, redis: aioredis.Redis, key: bytes) -> None:
        self._settings = settings
        self._calls = calls
        self._redis = redis
        self.tokens = SessionTokenSigner(key, settings.session_token_ttl_seconds)
        self._expiry: dict[str, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # --- create, read, end --------------------------------------------------------------------------
    async def create(self, body: CreateSessionRequest) -> SessionCreated:
        if body.channel is CallChannel.PHONE:
            raise SessionRequestError("channel must be websocket, webrtc or relay")
        agent = self._check_registry(body)
        session_id = uuid.uuid4().hex
        snapshot = self._calls.registry.current
        record = CallRecord(
            call_id=session_id,
            direction=CallDirection.INBOUND,
            channel=body.channel,
            registry_version=snapshot.version,
            scenario=body.scenario,
            agent=agent,
            language=body.language,
            status=CallStatus.INCOMING,
        )
        record.add_event("session_created", body.channel.value)
        await self._calls.store.create(record)
        self._expire_unless_connected(session_id)
        token, expires_at = self.tokens.issue(session_id, TokenPurpose.MEDIA)
        events_token, _ = self.tokens.issue(session_id, TokenPurpose.EVENTS)
        with bound_call_id(session_id):
            log.info(
                "voice session created", extra={"channel": body.channel.value, "scenario": body.scenario}
            )
        http = self._settings.effective_public_base_url + "/api/v1/sessions/" + session_id
        ws = self._settings.websocket_base_url
        return SessionCreated(
            session_id=session_id,
            channel=body.channel,
            token=token,
            events_token=events_token,
            expires_at=expires_at,
            ice_servers=self._settings.session_ice_servers,
            urls=SessionUrls(
                websocket=f"{ws}{RELAY_PATH if body.channel is CallChannel.RELAY else VOICE_PATH}?session={session_id}",
                events=f"{ws}/api/v1/sessions/{session_id}/events",
                offer=f"{http}/offer",
                candidates=f"{http}/candidates",
            ),
        )

    def _check_registry(self, body: CreateSessionRequest) -> str | None:
        """The agent to start with (None: the scenario's own); raises SessionRequestError with the reason."""
        snapshot = self._calls.registry.current
        scenario = snapshot.scenarios.get(body.scenario)
        if scenario is None:
            raise SessionRequestError(f"no scenario named {body.scenario!r}")
        agent_name = body.agent or scenario.start_agent
        if agent_name not in scenario.agents or agent_name not in snapshot.agents:
            raise SessionRequestError(f"agent {agent_name!r} is not part of scenario {body.scenario!r}")
        languages = snapshot.agents[agent_name].speech.languages
        if body.language is not None and body.language not in languages:
            raise SessionRequestError(
                f"agent {agent_name!r} speaks {', '.join(languages)}, not {body.language}"
            )
        return body.agent

    async def check_rate(self, client: str) -> None:
        """Demo mode: at most SESSIONS_DEMO_PER_MINUTE creations per client IP per minute (all replicas)."""
        key = f"sb:session-rate:{client}:{int(time.time() // 60)}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, 120)
            count, _ = await pipe.execute()
        if int(count) > self._settings.sessions_demo_per_minute:
            raise RateLimited(client)

    async def spend_token(self, claims: SessionTokenClaims) -> bool:
        """Mark a token as used by a socket: True the first time, False ever after (on every replica). Kept
        until the token expires, when the signature check refuses it anyway."""
        ttl = max(1, claims.exp - int(time.time()) + 1)
        return bool(await self._redis.set(token_use_key(claims), "1", nx=True, ex=ttl))

    async def get(self, session_id: str) -> CallRecord:
        try:
            record = await self._calls.store.get(session_id)
        except CallNotFound as exc:
            raise SessionNotFound(session_id) from exc
        if record.channel not in SESSION_CHANNELS:
            raise SessionNotFound(session_id)
        return record

    async def list(self, *, limit: int, cursor: str | None) -> CallPage:
        """A page of the calls list with only the sessions kept (a page may hold fewer than `limit`)."""
        page = await self._calls.store.list_recent(limit=limit, cursor=cursor)
        page.calls = [call for call in page.calls if call.channel in SESSION_CHANNELS]
        return page

    async def end(self, session_id: str, reason: str) -> CallRecord:
        """End the session and close its media wherever it runs. Ending an ended session changes nothing."""
        await self.get(session_id)
        record = await self._end_record(session_id, reason)
        await self._calls.close_media_anywhere(session_id, reason)
        return record

    async def _end_record(self, session_id: str, reason: str) -> CallRecord:
        """End the record and tell the live feed, once (an ended session stays as it ended)."""
        changed = False

        def end(record: CallRecord) -> None:
            nonlocal changed
            changed = not record.status.is_final
            record.end(reason)

        record = await self._calls.store.update(session_id, end)
        if changed:
            CallEventPublisher.shared(self._redis).status(record, "ended")
        return record

    # --- running a session's voice ------------------------------------------------------------------
    async def run_voice(self, session_id: str, socket: DuplexSocket) -> None:
        """A `websocket` session's conversation on its accepted voice socket; its live events go to the same
        socket. The caller holds the session's media slot."""
        transport = WebSocketVoiceTransport(socket)

        async def send_event(message: str) -> bool:
            try:
                await transport.send_text(message)
            except MediaSocketClosed:
                return False
            return True

        await self.run_session(session_id, transport, send_event=send_event, channel_event="voice_socket")
        log.info("voice session ended", extra={"malformed_in": transport.stats.malformed_in})

    async def run_session(
        self,
        session_id: str,
        transport: BrowserTransport,
        *,
        send_event: Callable[[str], Awaitable[bool]],
        channel_event: str,
    ) -> None:
        """Run a session's conversation on a connected transport (its media slot held by the caller), with
        its live events sent to the browser by `send_event` (False: the browser is gone), and end the session
        when the transport goes."""
        self._cancel_expiry(session_id)

        def connected(record: CallRecord) -> None:
            if not record.status.is_final:
                record.status = CallStatus.CONNECTED
                record.connected_at = record.connected_at or utcnow()
                record.add_event(f"{channel_event}_connected")

        with bound_call_id(session_id):
            record = await self._calls.store.update(session_id, connected)
            CallEventPublisher.shared(self._redis).status(record, "connected")
            async with CallEventSubscription(
                self._redis, session_id, max_queued=MAX_FORWARDED_EVENTS
            ) as feed:
                forwarder = asyncio.create_task(
                    _forward(feed, send_event), name=f"session-events:{session_id}"
                )
                try:
                    await self._calls.run_transport(session_id, transport)
                finally:
                    forwarder.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await forwarder
                    # Whatever ended the conversation (even a bug), the session is over: never left "connected".
                    await self._ended(session_id, transport_close_reason(transport))

    async def _ended(self, session_id: str, reason: str) -> None:
        """The voice socket is gone: so is the session (unless something ended it first)."""
        try:
            await self._end_record(session_id, reason)
        except (CallNotFound, aioredis.RedisError, OSError) as exc:
            log.warning("session end not recorded", extra={"error_type": type(exc).__name__})

    # --- sessions that never connect ----------------------------------------------------------------
    def _expire_unless_connected(self, session_id: str) -> None:
        """End the session if no voice has connected within SESSION_CONNECT_TIMEOUT_SECONDS."""
        loop = asyncio.get_running_loop()
        self._expiry[session_id] = loop.call_later(
            self._settings.session_connect_timeout_seconds, self._start_expiry, session_id
        )

    def _cancel_expiry(self, session_id: str) -> None:
        timer = self._expiry.pop(session_id, None)
        if timer is not None:
            timer.cancel()

    def _start_expiry(self, session_id: str) -> None:
        self._expiry.pop(session_id, None)
        task = asyncio.create_task(self._expire(session_id), name=f"session-expiry:{session_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _expire(self, session_id: str) -> None:
        with bound_call_id(session_id):
            try:
                record = await self._calls.store.get(session_id)
                if record.status is CallStatus.INCOMING:
                    log.info("voice session never connected: ending it")
                    await self._end_record(session_id, "never connected")
            except (CallNotFound, aioredis.RedisError, OSError) as exc:
                log.warning("session expiry not recorded", extra={"error_type": type(exc).__name__})

    async def aclose(self) -> None:
        """On shutdown: no more expiry timers; running expiries are cancelled."""
        for timer in self._expiry.values():
            timer.cancel()
        self._expiry.clear()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def token_use_key(claims: SessionTokenClaims) -> str:
    return f"sb:session-token-used:{claims.sid}:{claims.nonce}"


class BrowserTransport(MediaTransport, Protocol):
    """A browser channel's transport: it knows how (and why) it closed."""

    close_code: int | None
    close_reason: str


def transport_close_reason(transport: BrowserTransport) -> str:
    """Why the browser's transport closed, for the session's end reason."""
    if transport.close_code is not None:
        return transport.close_reason or "closed"
    return "client left"


async def _forward(feed: CallEventSubscription, send_event: Callable[[str], Awaitable[bool]]) -> None:
    """The session's live events to its browser, until the browser goes."""
    while True:
        item = await feed.next()
        if item is None:
            continue
        if not await send_event(item[1]):
            return
