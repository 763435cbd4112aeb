"""A browser-like client of a voice session: creates it over HTTP, then talks on the voice WebSocket with
real-time paced 20 ms PCM16 frames (silence between utterances, as a microphone would) and records what comes
back (agent audio frames, JSON events)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from tests.support import Backend, eventually

RATE = 16000
FRAME_BYTES = RATE // 50 * 2
SILENCE = bytes(FRAME_BYTES)


async def create_session(backend: Backend, **body: Any) -> dict[str, Any]:
    async with backend.admin() as client:
        response = await client.post("/api/v1/sessions", json={"scenario": "banking", **body})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def voice_url(session: dict[str, Any], token: str | None = None) -> str:
    url: str = session["urls"]["websocket"]
    given = session["token"] if token is None else token
    return f"{url}&token={given}" if given else url


async def refused(url: str, first: str | bytes | None = None) -> tuple[int | None, str]:
    """Open `url` and report how the server closed it (it must close before sending anything)."""
    async with websockets.connect(url, open_timeout=5) as ws:
        try:
            if first is not None:
                await ws.send(first)
            message = await asyncio.wait_for(ws.recv(), timeout=10)
        except ConnectionClosed:
            return ws.close_code, ws.close_reason
    raise AssertionError(f"the socket was served: {str(message)[:80]}")


class VoiceClient:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.audio_frames = 0
        self.last_audio = 0.0
        self.events: list[dict[str, Any]] = []
        self._outgoing: deque[bytes] = deque()
        self.sent_frames = 0
        self.audio_at: list[float] = []  # when each agent audio frame arrived (monotonic)
        self.event_at: list[float] = []  # when each JSON event arrived
        self.speech_started_at: float | None = None  # first / last frame of the latest utterance sent
        self.speech_ended_at: float | None = None

    def say(self, pcm: bytes) -> None:
        """Queue an utterance: it goes out frame by frame in real time, after what is queued already."""
        pcm += bytes(-len(pcm) % FRAME_BYTES)
        self._outgoing.extend(pcm[i : i + FRAME_BYTES] for i in range(0, len(pcm), FRAME_BYTES))

    @property
    def speaking(self) -> bool:
        return bool(self._outgoing)

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("type") == kind]

    async def wait_spoken(self) -> None:
        await eventually(lambda: not self.speaking, timeout=30)

    async def wait_agent_done(self, *, since_frames: int, gap_s: float = 0.8, timeout: float = 40) -> None:
        """Wait until the agent has said something after `since_frames` and then been quiet for `gap_s`."""
        await eventually(
            lambda: self.audio_frames > since_frames and time.monotonic() - self.last_audio > gap_s,
            timeout=timeout,
        )

    async def pump(self) -> None:
        """The microphone: one frame every 20 ms on a fixed schedule (speech when queued, else silence)."""
        start = time.monotonic()
        while True:
            speaking = bool(self._outgoing)
            frame = self._outgoing.popleft() if speaking else SILENCE
            await self.ws.send(frame)
            self.sent_frames += 1
            if speaking:
                sent_at = time.monotonic()
                if self.speech_started_at is None or (self.speech_ended_at or 0) >= self.speech_started_at:
                    self.speech_started_at = sent_at
                if not self._outgoing:
                    self.speech_ended_at = sent_at
            await asyncio.sleep(max(0.0, start + self.sent_frames * 0.02 - time.monotonic()))

    async def read(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for message in self.ws:
                if isinstance(message, bytes):
                    self.audio_frames += 1
                    self.last_audio = time.monotonic()
                    self.audio_at.append(self.last_audio)
                else:
                    self.events.append(json.loads(message))
                    self.event_at.append(time.monotonic())


@asynccontextmanager
async def talking(url: str, *, start: bool = True) -> AsyncIterator[VoiceClient]:
    """A connected client with its microphone and ear running; both stop (and the socket closes) on exit."""
    async with websockets.connect(url, open_timeout=5, max_size=2**20) as ws:
        client = VoiceClient(ws)
        if start:
            await ws.send(json.dumps({"type": "start", "sample_rate": RATE}))
        tasks = [asyncio.create_task(client.pump()), asyncio.create_task(client.read())]
        try:
            yield client
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


class EventsClient:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.close: tuple[int | None, str] | None = None

    def chunks(self, speaker: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("type") == "transcript_chunk" and e.get("speaker") == speaker]


@asynccontextmanager
async def listening(session: dict[str, Any]) -> AsyncIterator[EventsClient]:
    url = f"{session['urls']['events']}?token={session['events_token']}"
    client = EventsClient()

    async def read() -> None:
        async with websockets.connect(url, open_timeout=5) as ws:
            with contextlib.suppress(ConnectionClosed):
                async for message in ws:
                    client.events.append(json.loads(message))
            client.close = (ws.close_code, ws.close_reason)

    task = asyncio.create_task(read())
    try:
        yield client
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
