"""Embedded TTS: espeak-ng through `espeakng-loader`, no network and no model download.

espeak-ng is global per process, so every synthesis runs on one dedicated worker thread and is
serialised there; the ctypes call releases the GIL while espeak works, so the event loop keeps
running. Audio is resampled from espeak's native 22.05 kHz on that same thread and handed back to the
loop with `call_soon_threadsafe`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator, Callable
from concurrent.futures import ThreadPoolExecutor

from voice.audio.resample import StreamResampler
from voice.tts.espeak_ng import MAX_RATE_WPM, MIN_RATE_WPM, EspeakNg
from voice.usage.amounts import UsageAmounts
from voice.usage.ledger import report

_Deliver = Callable[[bytes], None]


class _EspeakEngine:
    """Owns the espeak worker thread; espeak itself is initialised on that thread by the first job."""

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="espeak-ng")
        self._espeak: EspeakNg | None = None
        self._settings: tuple[str, int] | None = None  # (voice, rate) currently loaded in espeak

    def run(
        self,
        text: str,
        voice: str,
        rate_wpm: int,
        sample_rate: int,
        deliver: _Deliver,
        stop: threading.Event,
    ) -> asyncio.Future[None]:
        """Queue one utterance; `deliver` is called on the worker thread for each resampled chunk.

        Setting `stop` makes the job end at the next chunk (or skip it if it has not started).
        """
        loop = asyncio.get_running_loop()
        return loop.run_in_executor(
            self._executor, self._synthesize, text, voice, rate_wpm, sample_rate, deliver, stop
        )

    def _synthesize(
        self,
        text: str,
        voice: str,
        rate_wpm: int,
        sample_rate: int,
        deliver: _Deliver,
        stop: threading.Event,
    ) -> None:
        if stop.is_set():
            return
        if self._espeak is None:
            self._espeak = EspeakNg()
        espeak = self._espeak
        if self._settings != (voice, rate_wpm):
            self._settings = None  # unknown if set_voice raises half-way
            espeak.set_voice(voice)
            espeak.set_rate(rate_wpm)  # after the voice: loading a voice may reset the rate
            self._settings = (voice, rate_wpm)

        resampler = StreamResampler(espeak.sample_rate, sample_rate)

        def on_audio(native: bytes) -> bool:
            if stop.is_set():
                return False
            chunk = resampler.process(native)
            if chunk:
                deliver(chunk)
            return not stop.is_set()

        espeak.synth(text, on_audio)
        if not stop.is_set():
            tail = resampler.flush()
            if tail:
                deliver(tail)


_engine: _EspeakEngine | None = None
_engine_lock = threading.Lock()


def _get_engine() -> _EspeakEngine:
    global _engine
    if _engine is None:
        with _engine_lock:
            if _engine is None:
                _engine = _EspeakEngine()
    return _engine


class EspeakTts:
    """`TextToSpeech` on the embedded espeak-ng engine (robotic, but instant and offline).

    Synthesis runs at a few hundred times real time, so callers queue behind each other only briefly.
    """

    name = "espeak-ng"

    def __init__(self, voice: str = "en-us", rate_wpm: int = 175) -> None:
        if not MIN_RATE_WPM <= rate_wpm <= MAX_RATE_WPM:
            raise ValueError(f"rate_wpm must be in [{MIN_RATE_WPM}, {MAX_RATE_WPM}], got {rate_wpm}")
        self.voice = voice
        self.rate_wpm = rate_wpm
        self._ready = False

    @property
    def ready(self) -> bool:
        """True once `warm_up` (or any synthesis) has succeeded with this instance's settings."""
        return self._ready

    async def warm_up(self) -> None:
        """Load espeak-ng and this voice now, so the first caller does not pay for it.

        Raises if the engine or the voice cannot be loaded, which makes a bad setting fail at startup.
        """
        if not await self.synthesize("Ready.", sample_rate=16000):
            raise RuntimeError("espeak-ng produced no audio while warming up")

    def _rate_wpm(self, rate: float) -> int:
        """The agent's rate factor applied to this instance's words per minute, clamped to espeak's range."""
        return max(MIN_RATE_WPM, min(MAX_RATE_WPM, round(self.rate_wpm * rate)))

    async def synthesize(
        self,
        text: str,
        *,
        sample_rate: int,
        voice: str | None = None,
        rate: float = 1.0,
        style: str | None = None,  # espeak has no speaking styles
    ) -> bytes:
        _check_rate(sample_rate)
        if not text.strip():
            return b""
        chunks: list[bytes] = []  # appended on the worker thread, read only after the job is done
        stop = threading.Event()
        job = _get_engine().run(
            text, voice or self.voice, self._rate_wpm(rate), sample_rate, chunks.append, stop
        )
        try:
            await job
        finally:
            stop.set()  # on cancellation the worker gives up at its next chunk
        if voice is None:
            self._ready = True
        return b"".join(chunks)

    async def stream(
        self,
        text: str,
        *,
        sample_rate: int,
        voice: str | None = None,
        rate: float = 1.0,
        style: str | None = None,
    ) -> AsyncGenerator[bytes, None]:
        _check_rate(sample_rate)
        if not text.strip():
            return
        report(self.name, "local", UsageAmounts(requests=1, tts_characters=len(text)))
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[bytes | None] = asyncio.Queue()  # unbounded: one utterance at most
        stop = threading.Event()

        def deliver(chunk: bytes) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, chunk)
            except RuntimeError:  # loop closed: nobody is listening any more
                stop.set()

        def job_done(future: asyncio.Future[None]) -> None:
            # Runs after every chunk the job delivered (same thread-safe FIFO), so None marks the end.
            if not future.cancelled():
                future.exception()  # mark retrieved: it is re-raised below unless the consumer left
            queue.put_nowait(None)

        job = _get_engine().run(text, voice or self.voice, self._rate_wpm(rate), sample_rate, deliver, stop)
        job.add_done_callback(job_done)
        try:
            while (chunk := await queue.get()) is not None:
                yield chunk
            await job  # surface synthesis errors (unknown voice, ...)
        finally:
            stop.set()


def _check_rate(sample_rate: int) -> None:
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
