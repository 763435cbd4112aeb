"""One call's media loop: inbound audio through VAD, agent audio paced out, the greeting on media start.

The session owns every task it starts (playout, greeting) and cancels them when the socket closes, so a
hang-up mid-sentence leaves nothing running. It reports what happens through `MediaSessionListener`, which
the app implements (call records, logs); `voice` knows nothing about storage or HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Protocol

from voice.audio.resample import StreamResampler
from voice.audio.speech import SpeechDetector, SpeechDetectorConfig, SpeechEnded, SpeechStarted
from voice.audio.vad import SileroVadModel, VadStream
from voice.transports.acs import AcsMediaTransport, TransportStats
from voice.transports.base import AudioFrame, DtmfTone, MediaStarted
from voice.transports.playout import PacedPlayout
from voice.tts.base import TextToSpeech

log = logging.getLogger(__name__)

VAD_RATE = 16000


@dataclass(frozen=True)
class Utterance:
    text: str
    voice: str | None = None


class MediaSessionListener(Protocol):
    async def on_media_started(self, sample_rate: int) -> None: ...

    async def on_caller_speech(self, event: SpeechStarted | SpeechEnded) -> None: ...

    async def on_dtmf(self, digit: str) -> None: ...

    async def on_agent_utterance(self, text: str, *, completed: bool) -> None: ...

    async def on_media_ended(self, stats: TransportStats) -> None: ...


class MediaSession:
    def __init__(
        self,
        *,
        call_id: str,
        transport: AcsMediaTransport,
        tts: TextToSpeech,
        greeting: Utterance,
        listener: MediaSessionListener,
        vad_model: SileroVadModel | None = None,
        speech_config: SpeechDetectorConfig | None = None,
    ) -> None:
        self.call_id = call_id
        self._transport = transport
        self._tts = tts
        self._greeting = greeting
        self._listener = listener
        self._vad_model = vad_model
        self._speech_config = speech_config or SpeechDetectorConfig()
        self._playout = PacedPlayout(transport, frame_bytes=transport.frame_bytes)
        self._speaking: asyncio.Task[None] | None = None
        self._vad: VadStream | None = None
        self._detector: SpeechDetector | None = None
        self._to_vad_rate: StreamResampler | None = None
        self._started = False

    @property
    def playout(self) -> PacedPlayout:
        return self._playout

    async def run(self) -> None:
        playout_task = asyncio.create_task(self._playout.run(), name=f"playout:{self.call_id}")
        try:
            await self._receive_loop()
        finally:
            tasks = [t for t in (playout_task, self._speaking) if t is not None]
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await self._listener.on_media_ended(self._transport.stats)

    async def _receive_loop(self) -> None:
        while (event := await self._transport.receive()) is not None:
            if isinstance(event, AudioFrame):
                if not self._started:  # ACS sends metadata first; tolerate a stream that does not
                    await self._start(self._transport.sample_rate)
                await self._on_audio(event)
            elif isinstance(event, MediaStarted):
                if not self._started:
                    await self._start(event.sample_rate)
            elif isinstance(event, DtmfTone):
                await self._listener.on_dtmf(event.digit)

    async def _start(self, sample_rate: int) -> None:
        self._started = True
        self._playout.frame_bytes = self._transport.frame_bytes
        if self._vad_model is not None:
            self._vad = VadStream(self._vad_model)
            self._detector = SpeechDetector(self._speech_config)
            if sample_rate != VAD_RATE:
                self._to_vad_rate = StreamResampler(sample_rate, VAD_RATE)
        await self._listener.on_media_started(sample_rate)
        await self.say(self._greeting)

    async def _on_audio(self, frame: AudioFrame) -> None:
        if self._vad is None or self._detector is None:
            return
        pcm = self._to_vad_rate.process(frame.pcm) if self._to_vad_rate else frame.pcm
        for probability in self._vad.push(pcm):
            speech_event = self._detector.update(probability)
            if speech_event is not None:
                await self._listener.on_caller_speech(speech_event)

    async def say(self, utterance: Utterance) -> None:
        """Speak `utterance`, cutting off whatever is still playing: the caller never hears two at once."""
        if self._speaking is not None and not self._speaking.done():
            self._speaking.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._speaking
        await self._playout.interrupt()
        self._speaking = asyncio.create_task(self._speak(utterance), name=f"speak:{self.call_id}")

    async def _stream_tts(self, text: str, voice: str | None) -> None:
        async for chunk in self._tts.stream(text, sample_rate=self._transport.sample_rate, voice=voice):
            self._playout.enqueue(chunk)

    async def _speak(self, utterance: Utterance) -> None:
        completed = False
        try:
            try:
                await self._stream_tts(utterance.text, utterance.voice)
            except ValueError:
                if utterance.voice is None:
                    raise
                # A voice this provider does not know (e.g. an Azure voice name on the embedded TTS):
                # speak in the provider's default voice rather than leave the caller in silence.
                log.warning(
                    "tts voice unavailable; using the default voice", extra={"voice": utterance.voice}
                )
                await self._stream_tts(utterance.text, None)
            self._playout.end_utterance()
            await self._playout.wait_idle()
            completed = True
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("speaking failed")
        finally:
            with contextlib.suppress(Exception):
                await self._listener.on_agent_utterance(utterance.text, completed=completed)
