"""A browser stand-in for the WebRTC transport tests: a real aiortc peer on loopback whose microphone is a
track we feed with PCM (sent as 48 kHz stereo, as a browser's Opus capture is), which records what it hears
(back to 16 kHz mono) and can open the data channel a page would."""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import time

import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame as AvAudioFrame

from voice.audio.resample import resample_pcm16
from voice.transports.webrtc import WebRtcTransport
from voice.transports.webrtc_audio import InboundAudio

MIC_RATE = 48000
MIC_SAMPLES = 960  # 20 ms


class Microphone(MediaStreamTrack):
    """48 kHz stereo s16 frames in real time: queued speech, else silence."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._pending = bytearray()  # 48 kHz mono PCM16
        self._start: float | None = None
        self._pts = 0
        self.speech_started_at: float | None = None
        """Monotonic time the first frame of the latest `play()` went out (benchmarks time from it)."""
        self.speech_ended_at: float | None = None
        """... and its last frame."""

    def play(self, pcm16_16k: bytes) -> None:
        self._pending += resample_pcm16(pcm16_16k, 16000, MIC_RATE)

    @property
    def playing(self) -> bool:
        return bool(self._pending)

    async def recv(self) -> AvAudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        now = time.monotonic()
        if self._start is None:
            self._start = now
        due = self._start + self._pts / MIC_RATE
        if due > now:
            await asyncio.sleep(due - now)
        playing = bool(self._pending)
        chunk = bytes(self._pending[: MIC_SAMPLES * 2]).ljust(MIC_SAMPLES * 2, b"\0")
        del self._pending[: MIC_SAMPLES * 2]
        if playing:
            sent_at = time.monotonic()
            if self.speech_started_at is None or (self.speech_ended_at or 0) >= self.speech_started_at:
                self.speech_started_at = sent_at
            if not self._pending:
                self.speech_ended_at = sent_at
        mono = np.frombuffer(chunk, dtype="<i2")
        stereo = np.repeat(mono, 2).reshape(1, -1)  # interleaved L R
        frame = AvAudioFrame.from_ndarray(stereo, format="s16", layout="stereo")
        frame.sample_rate = MIC_RATE
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, MIC_RATE)
        self._pts += MIC_SAMPLES
        return frame


def rms(pcm16: bytes) -> float:
    samples = np.frombuffer(pcm16, dtype="<i2").astype(np.float64)
    return float(np.sqrt(np.mean(samples**2))) if samples.size else 0.0


class BrowserPeer:
    def __init__(self, *, data_channel: bool = False) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.mic = Microphone()
        self.pc.addTrack(self.mic)
        self.channel = self.pc.createDataChannel("events") if data_channel else None
        self.events: list[str] = []
        if self.channel is not None:
            self.channel.on("message", self._on_message)
        self.heard: list[bytes] = []  # 20 ms frames at 16 kHz mono, in order
        self.heard_at: list[float] = []  # when each of them arrived (monotonic)
        self._reader: asyncio.Task[None] | None = None
        self.pc.on("track", self._on_track)

    def _on_message(self, message: str | bytes) -> None:
        if isinstance(message, str):
            self.events.append(message)

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind == "audio":
            self._reader = asyncio.create_task(self._listen(track))

    async def _listen(self, track: MediaStreamTrack) -> None:
        audio = InboundAudio(16000)
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                assert isinstance(frame, AvAudioFrame)
                frames = audio.push(frame)
                self.heard.extend(frames)
                self.heard_at.extend([time.monotonic()] * len(frames))

    async def offer(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        assert self.pc.localDescription is not None
        return str(self.pc.localDescription.sdp)

    async def connect(self, transport: WebRtcTransport) -> None:
        answer = await transport.answer(await self.offer())
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))

    def loud_frames(self, threshold: float = 500.0) -> int:
        return sum(1 for frame in self.heard if rms(frame) > threshold)

    async def close(self) -> None:
        self.mic.stop()
        await self.pc.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
