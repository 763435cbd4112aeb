"""Azure Speech synthesis through the Speech SDK, streamed chunk by chunk as raw PCM.

Each utterance is SSML (voice, prosody rate, optional `mstts:express-as` style) sent on a `SpeechSynthesizer`
with no audio output; its `synthesizing` events carry the audio as it is produced. The events arrive on SDK
threads: they resample there if needed and hand chunks to the loop with `call_soon_threadsafe`.

A synthesizer keeps its WebSocket open between utterances, and connecting costs a TLS handshake per reply,
so idle synthesizers are kept (a few per output format) and reused. One is only ever used by one utterance
at a time, and goes back to the pool only after the service has ended that utterance (completed or canceled),
so no audio of one call can reach another.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from typing import Final
from xml.sax.saxutils import escape, quoteattr

import azure.cognitiveservices.speech as speechsdk

from voice.audio.resample import StreamResampler
from voice.azure_speech import redact, speech_config
from voice.errors import ProviderError
from voice.tts.base import StreamingSynthesizer
from voice.usage.amounts import UsageAmounts
from voice.usage.ledger import report

log = logging.getLogger(__name__)

PROVIDER = "azure-speech"
DEFAULT_VOICE = "en-US-AvaMultilingualNeural"
MIN_RATE, MAX_RATE = 0.5, 2.0
"""The service's prosody rate range (-50% .. +100%); agent rates outside it are clamped."""

_Format = speechsdk.SpeechSynthesisOutputFormat
_NATIVE_FORMATS: Final[dict[int, speechsdk.SpeechSynthesisOutputFormat]] = {
    8000: _Format.Raw8Khz16BitMonoPcm,
    16000: _Format.Raw16Khz16BitMonoPcm,
    22050: _Format.Raw22050Hz16BitMonoPcm,
    24000: _Format.Raw24Khz16BitMonoPcm,
    44100: _Format.Raw44100Hz16BitMonoPcm,
    48000: _Format.Raw48Khz16BitMonoPcm,
}
_LOCALE = re.compile(r"^([a-z]{2,3}-[A-Z]{2})-")
_UNKNOWN_VOICE = re.compile(r"unsupported voice", re.IGNORECASE)
_STOP_TIMEOUT_S = 3.0


def build_ssml(text: str, *, voice: str, rate: float = 1.0, style: str | None = None) -> str:
    """SSML for one utterance; `text` is plain text (escaped here), `rate` a speed factor (1.1 = +10%)."""
    if rate <= 0:
        raise ValueError(f"rate must be positive, got {rate}")
    match = _LOCALE.match(voice)
    lang = match.group(1) if match else "en-US"
    body = escape(text)
    percent = round((min(max(rate, MIN_RATE), MAX_RATE) - 1.0) * 100)
    if percent:
        body = f"<prosody rate={quoteattr(f'{percent:+d}%')}>{body}</prosody>"
    if style:
        body = f"<mstts:express-as style={quoteattr(style)}>{body}</mstts:express-as>"
    return (
        '<speak version="1.0" xmlns="http://www.w3.org/2001/10/synthesis" '
        f'xmlns:mstts="https://www.w3.org/2001/mstts" xml:lang={quoteattr(lang)}>'
        f"<voice name={quoteattr(voice)}>{body}</voice></speak>"
    )


@dataclass(frozen=True, slots=True)
class _Canceled:
    code: str
    details: str


_DONE = object()


class _Utterance:
    """One synthesis request's bridge from SDK threads to the loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, resampler: StreamResampler) -> None:
        self.loop = loop
        self.resampler = resampler  # touched on the SDK's event thread only
        self.queue: asyncio.Queue[bytes | _Canceled | object] = asyncio.Queue()  # unbounded: one utterance
        self.finished = asyncio.Event()  # the service ended the request (completed or canceled)
        self.request: speechsdk.ResultFuture | None = None  # kept until the end: releasing it early may wait

    def _call(self, callback: Callable[..., None], *args: object) -> None:
        try:
            self.loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # loop closed: nobody is listening any more
            pass

    def _end(self, item: _Canceled | object) -> None:
        # Loop thread. One callback for both, so the consumer never sees the end before `finished` is set.
        self.queue.put_nowait(item)
        self.finished.set()

    # SDK threads
    def audio(self, data: bytes) -> None:
        chunk = self.resampler.process(data) if data else b""
        if chunk:
            self._call(self.queue.put_nowait, chunk)

    def completed(self) -> None:
        tail = self.resampler.flush()
        if tail:
            self._call(self.queue.put_nowait, tail)
        self._call(self._end, _DONE)

    def canceled(self, code: str, details: str) -> None:
        self._call(self._end, _Canceled(code, details))


class _PooledSynthesizer:
    """A synthesizer whose event handlers forward to whichever utterance currently owns it."""

    def __init__(self, config: speechsdk.SpeechConfig) -> None:
        self.synthesizer = speechsdk.SpeechSynthesizer(speech_config=config, audio_config=None)
        self.current: _Utterance | None = None  # set and cleared on the loop thread, read on SDK threads
        self.synthesizer.synthesizing.connect(self._on_synthesizing)
        self.synthesizer.synthesis_completed.connect(self._on_completed)
        self.synthesizer.synthesis_canceled.connect(self._on_canceled)

    def _on_synthesizing(self, evt: speechsdk.SpeechSynthesisEventArgs) -> None:
        if (utterance := self.current) is not None:
            utterance.audio(evt.result.audio_data)

    def _on_completed(self, evt: speechsdk.SpeechSynthesisEventArgs) -> None:
        if (utterance := self.current) is not None:
            utterance.completed()

    def _on_canceled(self, evt: speechsdk.SpeechSynthesisEventArgs) -> None:
        if (utterance := self.current) is not None:
            details = evt.result.cancellation_details
            utterance.canceled(details.error_code.name, details.error_details or details.reason.name)

    def release_handlers(self) -> None:
        for signal in (
            self.synthesizer.synthesizing,
            self.synthesizer.synthesis_completed,
            self.synthesizer.synthesis_canceled,
        ):
            signal.disconnect_all()


class AzureTextToSpeech(StreamingSynthesizer):
    """`TextToSpeech` on Azure Speech neural voices."""

    name = PROVIDER

    def __init__(
        self,
        *,
        key: str,
        region: str | None = None,
        endpoint: str | None = None,
        host: str | None = None,
        default_voice: str = DEFAULT_VOICE,
        max_idle_per_format: int = 4,
    ) -> None:
        speech_config(key, region=region, endpoint=endpoint, host=host)  # fail fast on bad settings
        self._key = key
        self._where = {"region": region, "endpoint": endpoint, "host": host}
        self.default_voice = default_voice
        self.max_idle_per_format = max_idle_per_format
        self._idle: dict[int, list[_PooledSynthesizer]] = {}  # native rate -> idle synthesizers (loop thread)
        self._configs: dict[int, speechsdk.SpeechConfig] = {}

    async def stream(
        self,
        text: str,
        *,
        sample_rate: int,
        voice: str | None = None,
        rate: float = 1.0,
        style: str | None = None,
    ) -> AsyncGenerator[bytes, None]:
        if sample_rate <= 0:
            raise ValueError(f"sample_rate must be positive, got {sample_rate}")
        if not text.strip():
            return
        voice_name = voice or self.default_voice
        ssml = build_ssml(text, voice=voice_name, rate=rate, style=style)
        native = _native_rate(sample_rate)
        synth = self._acquire(native)
        utterance = _Utterance(asyncio.get_running_loop(), StreamResampler(native, sample_rate))
        synth.current = utterance
        try:
            # Returns at once; its future's .get() would block, so the events are awaited instead.
            utterance.request = synth.synthesizer.speak_ssml_async(ssml)
        except RuntimeError as exc:  # the SDK's own errors (bad handle, invalid state)
            synth.current = None
            self._release(native, synth, False)
            raise ProviderError(
                PROVIDER, f"could not start synthesis: {redact(str(exc), self._key)}"
            ) from None
        report(PROVIDER, "neural", UsageAmounts(requests=1, tts_characters=len(text)))
        reusable = False
        try:
            while (item := await utterance.queue.get()) is not _DONE:
                if isinstance(item, _Canceled):
                    reusable = True  # the service ended the request; the synthesizer reconnects next time
                    raise _error(item, voice_name, self._key)
                assert isinstance(item, bytes)
                yield item
            reusable = True
        finally:
            try:
                if not utterance.finished.is_set():  # the consumer left early, or was cancelled
                    reusable = await _stop(synth, utterance)
            finally:
                synth.current = None
                self._release(native, synth, reusable)

    async def warm_up(self, sample_rate: int = 16000, timeout_s: float = 5.0) -> None:
        """Connect one synthesizer ahead of the first reply (optional; else the first reply pays for it).

        Raises `ProviderError` if the service cannot be reached in `timeout_s`.
        """
        native = _native_rate(sample_rate)
        synth = self._acquire(native)
        loop = asyncio.get_running_loop()
        connected = asyncio.Event()
        connection = speechsdk.Connection.from_speech_synthesizer(synth.synthesizer)
        connection.connected.connect(lambda _evt: loop.call_soon_threadsafe(connected.set))
        try:
            connection.open(False)  # asynchronous: returns before the connection is up
            async with asyncio.timeout(timeout_s):
                await connected.wait()
        except TimeoutError:
            self._release(native, synth, False)
            raise ProviderError(PROVIDER, f"no connection to the service within {timeout_s:g} s") from None
        finally:
            connection.connected.disconnect_all()
        self._release(native, synth, True)

    def _acquire(self, native: int) -> _PooledSynthesizer:
        """An idle synthesizer for this output rate, or a new one (connected on first use)."""
        idle = self._idle.get(native)
        if idle:
            return idle.pop()
        config = self._configs.get(native)
        if config is None:
            config = speech_config(self._key, **self._where)
            config.set_speech_synthesis_output_format(_NATIVE_FORMATS[native])
            self._configs[native] = config
        return _PooledSynthesizer(config)

    def _release(self, native: int, synth: _PooledSynthesizer, reusable: bool) -> None:
        idle = self._idle.setdefault(native, [])
        if reusable and len(idle) < self.max_idle_per_format:
            idle.append(synth)
        else:
            synth.release_handlers()


async def _stop(synth: _PooledSynthesizer, utterance: _Utterance) -> bool:
    """Stop an utterance the consumer left; True once the service confirmed the end (synthesizer reusable)."""
    try:
        async with asyncio.timeout(_STOP_TIMEOUT_S):
            await asyncio.to_thread(lambda: synth.synthesizer.stop_speaking_async().get())
            await utterance.finished.wait()
    except Exception as exc:  # TimeoutError included: give up on this synthesizer, never on the caller
        log.warning("azure tts stop failed", extra={"error": type(exc).__name__})
        return False
    return True


def _native_rate(sample_rate: int) -> int:
    """The service's output rate to ask for: the call's own if it has one, else the next higher one."""
    if sample_rate in _NATIVE_FORMATS:
        return sample_rate
    higher = [r for r in _NATIVE_FORMATS if r >= sample_rate]
    return min(higher) if higher else max(_NATIVE_FORMATS)


def _error(canceled: _Canceled, voice: str, key: str) -> Exception:
    details = redact(canceled.details, key)
    if _UNKNOWN_VOICE.search(details):
        return ValueError(f"unknown Azure voice {voice!r}")
    return ProviderError(PROVIDER, f"synthesis canceled ({canceled.code}): {details}")
