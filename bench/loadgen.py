"""A lean load generator: hundreds of simulated ACS calls from one process without falling behind.

`AcsSimulator`'s own media session costs about 1.5 % of a core per call (a task per call, per-frame JSON and
base64 encoding, pydantic parsing and recording of every agent frame), so at 100+ calls the benchmark would
measure the simulator. Here the simulator still runs the control plane of every call (IncomingCall -> the
backend answers through the simulator's REST API -> callbacks with signed JWTs), but the media is ours:

- one raw WebSocket client protocol per call (`LeanMediaProtocol`): client frames carry the all-zero mask
  key, which RFC 6455 allows (the key must be present, not random), so a frame is the payload as is;
- every AudioData message is precomputed (`FrameTemplate`): only the 24-byte timestamp is spliced in per
  tick, so a frame costs one bytes concatenation and one `transport.write`;
- one shared, deadline-based ticker (`Ticker`) sends all calls' frames, in `groups` phase groups spread over
  the 20 ms period as ACS's independent streams would be, and records its own lateness so generator lag can
  be told from backend lag;
- the receive side never decodes: it counts agent audio frames, spots StopAudio by prefix, and tracks reply
  latency and audio gaps at the caller's ear with a few float operations per frame.

The metrics helpers at the end (Prometheus text -> histogram deltas and quantiles) are shared by the
capacity and refresh benchmarks.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gc
import logging
import math
import os
import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import urlsplit

from prometheus_client.parser import text_string_to_metric_families

from apps.acs_simulator import events as ev
from apps.acs_simulator import timeline as tl
from apps.acs_simulator.call import CallOptions, SimulatedCall
from apps.acs_simulator.caller_audio import synthesize
from apps.acs_simulator.inbound import event_grid_headers
from apps.acs_simulator.media_messages import audio_metadata_json, frame_bytes
from apps.acs_simulator.server import DEFAULT_FROM, DEFAULT_TO, AcsSimulator

log = logging.getLogger(__name__)

FRAME_S = 0.020
ZERO_MASK = b"\x00\x00\x00\x00"
STAMP_LEN = len("2024-01-01T00:00:00.000Z")
STOP_AUDIO_PREFIX = b'{"Kind":"StopAudio"'
DEFAULT_PHRASE = "what is my checking balance"  # ~1.4 s of espeak-ng speech
REPLY_GAP_S = 2.0  # agent silence longer than this ends a reply (shorter: a gap the caller hears)
NEW_BURST_S = 0.3  # agent audio after this much silence is a new burst (a reply), not the old one going on
AUDIBLE_GAP_S = 0.005  # shorter underruns are timer jitter a real jitter buffer hides


# ---------------------------------------------------------------- precomputed frames ---------------------


def ws_client_header(length: int, opcode: int = 0x1) -> bytes:
    """Header of a final client frame masked with the all-zero key, so the payload is sent unmodified."""
    first = bytes([0x80 | opcode])
    if length < 126:
        return first + bytes([0x80 | length]) + ZERO_MASK
    if length < 1 << 16:
        return first + bytes([0x80 | 126]) + length.to_bytes(2, "big") + ZERO_MASK
    return first + bytes([0x80 | 127]) + length.to_bytes(8, "big") + ZERO_MASK


def ws_client_frame(payload: bytes, opcode: int = 0x1) -> bytes:
    return ws_client_header(len(payload), opcode) + payload


@dataclass(frozen=True, slots=True)
class FrameTemplate:
    """One AudioData message as a whole WebSocket frame with a hole for the timestamp."""

    head: bytes  # frame header + JSON up to the timestamp's value
    tail: bytes  # JSON after the timestamp's value

    def render(self, stamp: bytes) -> bytes:
        return self.head + stamp + self.tail


def audio_frame_template(participant_raw_id: str, pcm: bytes, silent: bool) -> FrameTemplate:
    """Byte-for-byte the simulator's `audio_data_json(...)` message, framed; the timestamp is spliced in."""
    head = b'{"kind":"AudioData","audioData":{"timestamp":"'
    tail = (
        '","participantRawID":"'
        + participant_raw_id
        + '","data":"'
        + base64.b64encode(pcm).decode("ascii")
        + '","silent":'
        + ("true" if silent else "false")
        + "}}"
    ).encode()
    return FrameTemplate(ws_client_header(len(head) + STAMP_LEN + len(tail)) + head, tail)


def stamp_bytes(unix_s: float) -> bytes:
    """ISO 8601 UTC with milliseconds and a Z, always STAMP_LEN bytes (as ACS and the simulator send it)."""
    whole = int(unix_s)
    ms = int((unix_s - whole) * 1000)
    return (time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{ms:03d}Z").encode()


def split_frames(pcm: bytes, sample_rate: int) -> list[bytes]:
    """20 ms PCM16 frames; the last one padded with silence."""
    size = frame_bytes(sample_rate)
    pcm += bytes(-len(pcm) % size)
    return [pcm[i : i + size] for i in range(0, len(pcm), size)]


def trim_silence(pcm: bytes, threshold: int = 300) -> bytes:
    """The phrase without leading/trailing near-silence, so the last voiced frame really ends the speech."""
    import numpy as np

    samples = np.frombuffer(pcm, dtype="<i2")
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > threshold)
    if loud.size == 0:
        return pcm
    return samples[loud[0] : loud[-1] + 1].tobytes()


@dataclass(frozen=True)
class CallerAudio:
    """Every message a caller sends, precomputed once per sample rate and shared by all calls."""

    sample_rate: int
    voiced: tuple[FrameTemplate, ...]
    silent: FrameTemplate

    @classmethod
    def from_pcm(cls, pcm: bytes, sample_rate: int, participant_raw_id: str) -> CallerAudio:
        voiced = tuple(
            audio_frame_template(participant_raw_id, frame, False) for frame in split_frames(pcm, sample_rate)
        )
        silent = audio_frame_template(participant_raw_id, bytes(frame_bytes(sample_rate)), True)
        return cls(sample_rate, voiced, silent)

    @property
    def phrase_s(self) -> float:
        return len(self.voiced) * FRAME_S


# ---------------------------------------------------------------- the caller's script -------------------


@dataclass(frozen=True)
class LoadProfile:
    """What each simulated caller does: talk (the phrase, ~1.5 s), stay silent 4-6 s, repeat."""

    phrase: str = DEFAULT_PHRASE
    silence_s: tuple[float, float] = (4.0, 6.0)
    first_silence_s: tuple[float, float] = (0.5, 5.0)  # staggers turns across calls
    groups: int = 5  # phase groups over the 20 ms period (5: a tick every 4 ms)
    seed: int = 6
    to_number: str = DEFAULT_TO
    from_number: str = DEFAULT_FROM


class CallerScript:
    """Which precomputed frame a caller sends next. Pure state machine, one step per 20 ms frame."""

    __slots__ = ("_audio", "_pos", "_rng", "_silence", "_silence_left")

    def __init__(self, audio: CallerAudio, profile: LoadProfile, rng: random.Random) -> None:
        self._audio = audio
        self._rng = rng
        self._silence = profile.silence_s
        self._silence_left = max(1, round(rng.uniform(*profile.first_silence_s) / FRAME_S))
        self._pos = 0

    @property
    def talking(self) -> bool:
        return self._silence_left == 0

    def advance(self) -> tuple[FrameTemplate, bool]:
        """(frame to send now, True when it is the last voiced frame of the phrase)."""
        if self._silence_left:
            self._silence_left -= 1
            return self._audio.silent, False
        voiced = self._audio.voiced
        frame = voiced[self._pos]
        self._pos += 1
        if self._pos < len(voiced):
            return frame, False
        self._pos = 0
        self._silence_left = max(1, round(self._rng.uniform(*self._silence) / FRAME_S))
        return frame, True


# ---------------------------------------------------------------- what the caller hears -----------------


@dataclass
class WindowStats:
    """Everything the generator observes in one measurement window (reset by `LoadGenerator.begin_window`)."""

    started: float = field(default_factory=time.monotonic)
    lateness_s: list[float] = field(default_factory=list)  # per tick: last frame's send time - deadline
    frames_sent: int = 0
    agent_frames: int = 0
    stop_audio: int = 0
    turns: int = 0  # caller phrases finished
    replies: int = 0  # of those, answered by a new agent audio burst
    response_s: list[float] = field(default_factory=list)  # caller's last voiced frame -> first agent frame
    gaps_s: list[float] = field(default_factory=list)  # audio gaps inside a reply (the ear ran dry)
    write_pauses: int = 0  # transport buffers over the high-water mark: the backend is not reading


class CallerEar:
    """Per call: reply latency and audio gaps as the caller would hear them, a few float ops per frame.

    The ear plays 20 ms per agent frame; a frame arriving after the previous audio has played out means the
    caller heard a gap. The backend sends a few frames ahead, so only stalls longer than its lead show.
    """

    __slots__ = ("agent_frames", "awaiting", "in_reply", "play_end", "replies", "speech_end", "stats")

    def __init__(self, stats: WindowStats) -> None:
        self.stats = stats
        self.play_end = 0.0
        self.speech_end = 0.0
        self.awaiting = False
        self.in_reply = False
        self.agent_frames = 0
        self.replies = 0

    def on_speech_end(self, now: float) -> None:
        self.stats.turns += 1
        self.speech_end = now
        self.awaiting = True

    def on_agent_audio(self, now: float) -> None:
        self.agent_frames += 1
        stats = self.stats
        stats.agent_frames += 1
        gap = now - self.play_end
        if gap > 0:
            if self.awaiting and gap > NEW_BURST_S:
                self.awaiting = False
                self.replies += 1
                stats.replies += 1
                stats.response_s.append(now - self.speech_end)
            elif self.in_reply and AUDIBLE_GAP_S < gap < REPLY_GAP_S:
                stats.gaps_s.append(gap)
            self.play_end = now
        self.in_reply = True
        self.play_end += FRAME_S

    def on_stop_audio(self, now: float) -> None:
        self.stats.stop_audio += 1
        self.in_reply = False
        self.play_end = min(self.play_end, now)


# ---------------------------------------------------------------- the media WebSocket ---------------------


class MediaHandshakeError(Exception):
    """The backend refused the media WebSocket upgrade."""


class LeanMediaProtocol(asyncio.Protocol):
    """ACS's side of one media WebSocket, minimal: handshake, raw frame writes, cheap frame scanning."""

    def __init__(self, ear: CallerEar) -> None:
        self.ear = ear
        self.transport: asyncio.Transport | None = None
        self.upgraded = asyncio.get_running_loop().create_future()
        self.closed = asyncio.Event()
        self.closed_by_backend = False
        self.close_code: int | None = None
        self._closing = False
        self._buf = bytearray()

    # -- connection ----------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's TCPTransport is not a subclass

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._closing:
            self.closed_by_backend = True
        if not self.upgraded.done():
            self.upgraded.set_exception(MediaHandshakeError(f"connection lost during upgrade: {exc}"))
        self.closed.set()

    def pause_writing(self) -> None:
        self.ear.stats.write_pauses += 1

    def request_upgrade(self, path: str, host: str, headers: dict[str, str]) -> None:
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: {host}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
            *(f"{name}: {value}" for name, value in headers.items()),
        ]
        assert self.transport is not None
        self.transport.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    # -- receiving -----------------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        buf = self._buf
        buf += data
        if not self.upgraded.done():
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(buf[: buf.find(b"\r\n")])
            del buf[: end + 4]
            if not status.startswith(b"HTTP/1.1 101"):
                self.upgraded.set_exception(MediaHandshakeError(status.decode("latin-1")))
                self._closing = True
                assert self.transport is not None
                self.transport.close()
                return
            self.upgraded.set_result(None)
        self._scan(buf)

    def _scan(self, buf: bytearray) -> None:
        """Consume every complete server frame in `buf` (servers never mask; tolerated if they do)."""
        pos, size = 0, len(buf)
        now = time.monotonic()
        while size - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            length, header = b1 & 0x7F, 2
            if length == 126:
                if size - pos < 4:
                    break
                length, header = (buf[pos + 2] << 8) | buf[pos + 3], 4
            elif length == 127:
                if size - pos < 10:
                    break
                length, header = int.from_bytes(buf[pos + 2 : pos + 10], "big"), 10
            if b1 & 0x80:
                header += 4
            end = pos + header + length
            if end > size:
                break
            opcode = b0 & 0x0F
            if opcode == 0x1 or opcode == 0x2:
                if buf.startswith(STOP_AUDIO_PREFIX, pos + header):
                    self.ear.on_stop_audio(now)
                else:
                    self.ear.on_agent_audio(now)
            elif opcode == 0x8:
                payload = bytes(buf[pos + header : end])
                self.close_code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
                self._on_close_frame()
            elif opcode == 0x9:
                self._write(ws_client_frame(bytes(buf[pos + header : end]), 0xA))
            pos = end
        if pos:
            del buf[:pos]

    def _on_close_frame(self) -> None:
        if not self._closing:
            self.closed_by_backend = True
            self._closing = True
            self._write(ws_client_frame((self.close_code or 1000).to_bytes(2, "big"), 0x8))
        if self.transport is not None:
            self.transport.close()

    # -- sending -------------------------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def send_text(self, text: str) -> None:
        self._write(ws_client_frame(text.encode()))

    async def close(self, timeout_s: float = 5.0) -> None:
        """Our side of a hang-up: close frame, wait for the backend's, then drop the connection."""
        if not self._closing:
            self._closing = True
            self._write(ws_client_frame((1000).to_bytes(2, "big") + b"call ended", 0x8))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.closed.wait(), timeout_s)
        if self.transport is not None:
            self.transport.close()


async def open_media(
    transport_url: str, headers: dict[str, str], ear: CallerEar, timeout_s: float = 10.0
) -> LeanMediaProtocol:
    parts = urlsplit(transport_url)
    if parts.scheme != "ws" or parts.hostname is None:
        raise MediaHandshakeError(f"the lean client speaks ws:// only, got {transport_url!r}")
    port = parts.port or 80
    loop = asyncio.get_running_loop()
    _, protocol = await asyncio.wait_for(
        loop.create_connection(lambda: LeanMediaProtocol(ear), parts.hostname, port), timeout_s
    )
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    protocol.request_upgrade(path, f"{parts.hostname}:{port}", headers)
    try:
        await asyncio.wait_for(protocol.upgraded, timeout_s)
    except BaseException:
        if protocol.transport is not None:
            protocol.transport.close()
        raise
    return protocol


# ---------------------------------------------------------------- calls and the ticker -------------------


class LeanCall:
    """One simulated call: the simulator's control plane with our media. Replaces the simulated call's
    `run_connected` (the hook the simulator's REST answer handler starts as the call's task)."""

    def __init__(self, call: SimulatedCall, generator: LoadGenerator, rng: random.Random) -> None:
        self.call = call
        self.generator = generator
        self.ear = CallerEar(generator.stats)
        self.rng = rng
        self.script: CallerScript | None = None
        self.media: LeanMediaProtocol | None = None
        self.frames_sent = 0
        self.streaming = asyncio.Event()
        self.setup_error: str | None = None
        self.dropped: str | None = None  # why the call ended before the caller hung up

    async def run_connected(self) -> None:
        call = self.call
        try:
            call.state = "connected"
            call.timeline.mark(tl.CONNECTED)
            call.post(ev.CALL_CONNECTED)
            call.post(ev.PARTICIPANTS_UPDATED, participants=call.participants(), sequence_number=1)
            await self._start_media()
            await self._until_ended()
        except asyncio.CancelledError:
            call.end("simulator", "simulator stopped")
            raise
        except Exception as exc:
            self.setup_error = self.setup_error or f"{exc.__class__.__name__}: {exc}"
            call.end("caller", f"bench error: {exc}")
        finally:
            await self._finish()

    async def _start_media(self) -> None:
        call = self.call
        options = call.media_options
        if options is None or not options.transport_url:
            raise MediaHandshakeError("the backend answered without media streaming")
        headers = {
            "x-ms-call-connection-id": call.call_connection_id,
            "x-ms-call-correlation-id": call.correlation_id,
            "Authorization": call.tokens.bearer(),
        }
        self.media = await open_media(options.transport_url, headers, self.ear)
        self.media.send_text(audio_metadata_json(call.subscription_id, call.sample_rate))
        call.timeline.mark(tl.MEDIA_CONNECTED, sample_rate=call.sample_rate)
        call.post(
            ev.MEDIA_STREAMING_STARTED,
            media_streaming_update={
                "contentType": "Audio",
                "mediaStreamingStatus": "mediaStreamingStarted",
                "mediaStreamingStatusDetails": "subscriptionStarted",
            },
        )
        audio = await self.generator.caller_audio(call.sample_rate)
        self.script = CallerScript(audio, self.generator.profile, self.rng)
        self.generator.ticker.attach(self)
        self.streaming.set()

    async def _until_ended(self) -> None:
        assert self.media is not None
        ended = asyncio.create_task(self.call.end_requested.wait())
        closed = asyncio.create_task(self.media.closed.wait())
        try:
            await asyncio.wait({ended, closed}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ended.cancel()
            closed.cancel()
        if not self.call.end_requested.is_set():
            self.dropped = f"backend closed the media WebSocket (code {self.media.close_code})"
            self.call.end("caller", "media closed by the backend")
        elif self.call.hung_up_by != "caller":
            self.dropped = f"ended by {self.call.hung_up_by}: {self.call.end_reason}"

    async def _finish(self) -> None:
        call = self.call
        self.generator.ticker.detach(self)
        if self.media is not None:
            await self.media.close()
        call.state = "disconnected"
        result = ev.ResultInformation(message=f"The conversation has ended ({call.end_reason}).")
        call.post(ev.CALL_DISCONNECTED, result=result)
        call.timeline.mark(tl.DISCONNECTED, by=call.hung_up_by, reason=call.end_reason)
        await call.callbacks.aclose(5.0)
        call.ended.set()

    def send_frame(self, stamp: bytes, now: float) -> int:
        """Hot path: one precomputed frame, one write. Returns the number of frames sent (0 or 1)."""
        assert self.script is not None and self.media is not None
        template, speech_ended = self.script.advance()
        transport = self.media.transport
        if transport is None or transport.is_closing():
            return 0
        transport.write(template.head + stamp + template.tail)
        self.frames_sent += 1
        if speech_ended:
            self.ear.on_speech_end(now)
        return 1


class Ticker:
    """One deadline-based 20 ms clock for every call, in `groups` phase groups.

    Group g of period n is due at t0 + n * 20 ms + g * 20 ms / groups. A late tick sends at once and the
    next deadline stays on the grid, so the schedule catches up instead of drifting. Each tick records how
    late its last frame went out (the generator's own lag).
    """

    def __init__(self, stats_owner: LoadGenerator, groups: int) -> None:
        self._owner = stats_owner
        self._groups: list[list[LeanCall]] = [[] for _ in range(max(1, groups))]
        self._slot = FRAME_S / len(self._groups)
        self._next = 0
        self._deadline = 0.0
        self._handle: asyncio.TimerHandle | None = None
        self.frames_sent = 0

    @property
    def calls(self) -> int:
        return sum(len(g) for g in self._groups)

    def attach(self, call: LeanCall) -> None:
        min(self._groups, key=len).append(call)

    def detach(self, call: LeanCall) -> None:
        for group in self._groups:
            if call in group:
                group.remove(call)

    def start(self) -> None:
        self._deadline = time.monotonic() + self._slot
        self._schedule()

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _schedule(self) -> None:
        loop = asyncio.get_running_loop()
        self._handle = loop.call_later(max(0.0, self._deadline - time.monotonic()), self._tick)

    def _tick(self) -> None:
        now = time.monotonic()
        deadline, group = self._deadline, self._groups[self._next]
        self._next = (self._next + 1) % len(self._groups)
        self._deadline += self._slot
        self._schedule()  # first, so a failing call can never stop the clock
        stamp = stamp_bytes(time.time())
        sent = 0
        for call in group:
            try:
                sent += call.send_frame(stamp, now)
            except Exception:
                log.exception("sending a frame failed; the call stays on the ticker")
        stats = self._owner.stats
        stats.lateness_s.append(time.monotonic() - deadline)
        stats.frames_sent += sent
        self.frames_sent += sent


@dataclass
class PlacedCalls:
    up: int
    failed: list[str]
    setup_s: list[float]


class LoadGenerator:
    """Places lean calls through the simulator's control plane and streams their media on one ticker."""

    def __init__(self, simulator: AcsSimulator, backend_url: str, profile: LoadProfile | None = None) -> None:
        self.simulator = simulator
        self.backend_url = backend_url.rstrip("/")
        self.profile = profile or LoadProfile()
        self.stats = WindowStats()
        self.ticker = Ticker(self, self.profile.groups)
        self.calls: list[LeanCall] = []
        self._rng = random.Random(self.profile.seed)
        self._audio: dict[int, CallerAudio] = {}
        self._audio_lock = asyncio.Lock()

    async def start(self) -> None:
        await self.simulator.validate_webhook(self.simulator.webhook_url(self.backend_url))
        await self.caller_audio(16000)
        # Everything alive now (simulator, models, imports) lives until the run ends: a full collection
        # walking it would stall the ticker for tens of ms, so move it out of the collector's sight.
        gc.collect()
        gc.freeze()
        self.ticker.start()

    async def caller_audio(self, sample_rate: int) -> CallerAudio:
        """The caller's phrase at `sample_rate` (espeak-ng, once per rate), as precomputed frames."""
        async with self._audio_lock:
            if sample_rate not in self._audio:
                pcm = trim_silence(await synthesize(self.profile.phrase, sample_rate))
                raw_id = f"4:{self.profile.from_number}"
                self._audio[sample_rate] = CallerAudio.from_pcm(pcm, sample_rate, raw_id)
            return self._audio[sample_rate]

    @property
    def live_calls(self) -> list[LeanCall]:
        return [c for c in self.calls if c.streaming.is_set() and not c.call.ended.is_set()]

    @property
    def dropped(self) -> list[LeanCall]:
        return [c for c in self.calls if c.dropped is not None]

    async def add_calls(self, count: int, *, concurrency: int = 4, timeout_s: float = 20.0) -> PlacedCalls:
        """Place `count` calls, `concurrency` at a time, each until its media streams on the ticker."""
        gate = asyncio.Semaphore(concurrency)
        failed: list[str] = []
        setup: list[float] = []

        async def one() -> None:
            async with gate:
                started = time.monotonic()
                try:
                    await self._place(timeout_s)
                    setup.append(time.monotonic() - started)
                except Exception as exc:
                    failed.append(f"{exc.__class__.__name__}: {exc}")

        await asyncio.gather(*(one() for _ in range(count)))
        return PlacedCalls(len(setup), failed, setup)

    async def _place(self, timeout_s: float) -> LeanCall:
        sim, profile = self.simulator, self.profile
        options = CallOptions(max_duration_s=24 * 3600, hang_up_after_silence_s=None)
        call = sim.register_incoming_call(
            to_number=profile.to_number, from_number=profile.from_number, options=options
        )
        lean = LeanCall(call, self, random.Random(self._rng.random()))
        call.run_connected = lean.run_connected  # type: ignore[method-assign]
        self.calls.append(lean)
        event = ev.incoming_call_event(
            to_number=profile.to_number,
            from_number=profile.from_number,
            server_call_id=call.server_call_id,
            caller_display_name="Bench Caller",
            incoming_call_context=call.incoming_call_context,
            correlation_id=call.correlation_id,
        )
        response = await sim.http.post(
            sim.webhook_url(self.backend_url), json=[event.wire()], headers=event_grid_headers("Notification")
        )
        if not 200 <= response.status_code < 300:
            call.abandon()
            raise RuntimeError(f"IncomingCall answered with HTTP {response.status_code}")
        try:
            await asyncio.wait_for(call.answered.wait(), timeout_s)
            await asyncio.wait_for(lean.streaming.wait(), timeout_s)
        except TimeoutError:
            call.abandon()
            call.end("caller", "bench setup timeout")
            raise TimeoutError(lean.setup_error or "call not answered / media not up in time") from None
        return lean

    def begin_window(self) -> None:
        self.stats = WindowStats()
        for call in self.calls:
            call.ear.stats = self.stats

    def end_window(self) -> WindowStats:
        stats, self.stats = self.stats, WindowStats()
        for call in self.calls:
            call.ear.stats = self.stats
        return stats

    async def hang_up_all(self, timeout_s: float = 20.0) -> None:
        self.ticker.stop()
        for lean in self.calls:
            lean.call.end("caller", "bench done")
        waits = [lean.call.ended.wait() for lean in self.calls if lean.streaming.is_set()]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*waits), timeout_s)
        gc.unfreeze()


# ---------------------------------------------------------------- numbers --------------------------------


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def summarize_window(stats: WindowStats, calls: int) -> dict[str, Any]:
    """The generator's view of one window, JSON-ready (times in ms)."""
    duration = time.monotonic() - stats.started

    def ms(value: float | None) -> float | None:
        return None if value is None else round(value * 1000, 2)

    return {
        "duration_s": round(duration, 2),
        "frames_sent": stats.frames_sent,
        "generator_lag_p50_ms": ms(percentile(stats.lateness_s, 50)),
        "generator_lag_p99_ms": ms(percentile(stats.lateness_s, 99)),
        "generator_lag_max_ms": ms(max(stats.lateness_s, default=None)),  # type: ignore[type-var]
        "turns": stats.turns,
        "replies": stats.replies,
        "replies_per_call": round(stats.replies / calls, 2) if calls else None,
        "response_p50_ms": ms(percentile(stats.response_s, 50)),
        "response_p95_ms": ms(percentile(stats.response_s, 95)),
        "agent_frames": stats.agent_frames,
        "stop_audio": stats.stop_audio,
        "audio_gaps": len(stats.gaps_s),
        "audio_gap_total_ms": ms(sum(stats.gaps_s)),
        "audio_gap_max_ms": ms(max(stats.gaps_s, default=None)),  # type: ignore[type-var]
        "write_pauses": stats.write_pauses,
    }


# ---------------------------------------------------------------- Prometheus text ------------------------


@dataclass(frozen=True)
class Histogram:
    """Cumulative bucket counts (upper bound -> count, +Inf included), summed over all label sets."""

    buckets: dict[float, float]
    count: float
    total: float

    def minus(self, earlier: Histogram | None) -> Histogram:
        if earlier is None:
            return self
        return Histogram(
            {le: n - earlier.buckets.get(le, 0.0) for le, n in self.buckets.items()},
            self.count - earlier.count,
            self.total - earlier.total,
        )

    def fraction_at_most(self, bound: float) -> float | None:
        """Share of observations <= `bound` (exact when `bound` is a bucket edge)."""
        if self.count <= 0:
            return None
        return histogram_cdf(self, bound)

    def quantile(self, q: float) -> float | None:
        """Prometheus-style histogram_quantile (q in 0..1): linear within the bucket holding the rank."""
        if self.count <= 0:
            return None
        rank = q * self.count
        lower, below = 0.0, 0.0
        for le in sorted(self.buckets):
            cumulative = self.buckets[le]
            if cumulative >= rank:
                if math.isinf(le):
                    return lower  # beyond the last finite edge: the best we can say is "above it"
                inside = cumulative - below
                return lower + (le - lower) * ((rank - below) / inside if inside else 1.0)
            lower, below = le, cumulative
        return lower

    def mean(self) -> float | None:
        return self.total / self.count if self.count > 0 else None


def histogram_cdf(hist: Histogram, bound: float) -> float:
    below_le, below_n, upper_le, upper_n = 0.0, 0.0, math.inf, hist.count
    for le in sorted(hist.buckets):
        if le <= bound:
            below_le, below_n = le, hist.buckets[le]
        else:
            upper_le, upper_n = le, hist.buckets[le]
            break
    if below_le == bound or math.isinf(upper_le):
        return below_n / hist.count
    share = (bound - below_le) / (upper_le - below_le)
    return (below_n + (upper_n - below_n) * share) / hist.count


@dataclass(frozen=True)
class MetricsSnapshot:
    """What one scrape of GET /metrics says: counters/gauges (summed over labels, or one label set), and
    histograms summed over labels."""

    values: dict[str, float]
    labeled: dict[tuple[str, frozenset[tuple[str, str]]], float]
    histograms: dict[str, Histogram]

    def value(self, name: str, **labels: str) -> float | None:
        if labels:
            return self.labeled.get((name, frozenset(labels.items())))
        return self.values.get(name)

    def histogram(self, name: str) -> Histogram | None:
        return self.histograms.get(name)


def parse_metrics(text: str) -> MetricsSnapshot:
    values: dict[str, float] = {}
    labeled: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    buckets: dict[str, dict[float, float]] = {}
    counts: dict[str, float] = {}
    sums: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            name = sample.name
            if family.type == "histogram":
                if name.endswith("_bucket"):
                    le = float(sample.labels["le"])
                    into = buckets.setdefault(family.name, {})
                    into[le] = into.get(le, 0.0) + sample.value
                elif name.endswith("_count"):
                    counts[family.name] = counts.get(family.name, 0.0) + sample.value
                elif name.endswith("_sum"):
                    sums[family.name] = sums.get(family.name, 0.0) + sample.value
                continue
            if name.endswith("_created"):
                continue
            values[name] = values.get(name, 0.0) + sample.value
            labeled[(name, frozenset(sample.labels.items()))] = sample.value
    histograms = {
        name: Histogram(b, counts.get(name, b.get(math.inf, 0.0)), sums.get(name, 0.0))
        for name, b in buckets.items()
    }
    return MetricsSnapshot(values, labeled, histograms)


def counter_delta(
    later: MetricsSnapshot | None, earlier: MetricsSnapshot | None, name: str, **labels: str
) -> float | None:
    """Counter increase between two scrapes (prometheus_client exposes counters with a `_total` sample). None
    when either scrape is missing: a failed first scrape must not turn the total since start into a step's."""
    if later is None or earlier is None:
        return None
    after = later.value(name, **labels)
    if after is None:
        return None
    return after - (earlier.value(name, **labels) or 0.0)


def histogram_delta(
    later: MetricsSnapshot | None, earlier: MetricsSnapshot | None, name: str
) -> Histogram | None:
    """The observations between two scrapes; None when either is missing (as for `counter_delta`)."""
    if later is None or earlier is None:
        return None
    hist = later.histogram(name)
    if hist is None:
        return None
    return hist.minus(earlier.histogram(name))


async def scrape(
    client: Any, path: str = "/metrics", *, attempts: int = 3, retry_after_s: float = 0.2
) -> MetricsSnapshot | None:
    """One scrape with an httpx client; None when the backend has no /metrics (yet) or did not answer
    `attempts` tries (a saturated worker can miss the client's timeout once)."""
    for attempt in range(1, attempts + 1):
        try:
            response = await client.get(path)
            break
        except Exception as exc:
            log.warning("metrics scrape failed (try %d of %d): %r", attempt, attempts, exc)
            if attempt == attempts:
                return None
            await asyncio.sleep(retry_after_s)
    if response.status_code != 200:
        return None
    return parse_metrics(response.text)


def lag_summary(hist: Histogram | None, *, limit_s: float = 0.020) -> dict[str, Any]:
    """p50/p99 (interpolated) and the exact share of observations over `limit_s`, in ms."""
    if hist is None or hist.count <= 0:
        return {"count": 0 if hist is not None else None, "p50_ms": None, "p99_ms": None, "over_limit": None}
    within = hist.fraction_at_most(limit_s)
    return {
        "count": int(hist.count),
        "p50_ms": _ms(hist.quantile(0.50)),
        "p99_ms": _ms(hist.quantile(0.99)),
        "mean_ms": _ms(hist.mean()),
        "over_limit": None if within is None else round(1.0 - within, 5),
    }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


# ---------------------------------------------------------------- CPU pinning -----------------------------


def pin_process(cpus: Iterable[int]) -> dict[int, set[int]]:
    """Pin every thread of this process to `cpus`; returns the previous affinities to restore later.

    os.sched_setaffinity(0, ...) changes only the calling thread on Linux; helper threads (the default
    executor, the simulator's) would stay free to run on the worker's core.
    """
    wanted = set(cpus)
    previous: dict[int, set[int]] = {}
    for tid in _thread_ids():
        with contextlib.suppress(OSError):
            previous[tid] = os.sched_getaffinity(tid)
            os.sched_setaffinity(tid, wanted)
    return previous


def restore_affinity(previous: dict[int, set[int]]) -> None:
    for tid, cpus in previous.items():
        with contextlib.suppress(OSError):
            os.sched_setaffinity(tid, cpus)
    # threads started while pinned inherited the pin: free them too
    everything = set().union(*previous.values()) if previous else set(range(os.cpu_count() or 1))
    for tid in _thread_ids():
        if tid not in previous:
            with contextlib.suppress(OSError):
                os.sched_setaffinity(tid, everything)


def _thread_ids() -> list[int]:
    try:
        return [int(t) for t in os.listdir("/proc/self/task")]
    except OSError:
        return [0]
