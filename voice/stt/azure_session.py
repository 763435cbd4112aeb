"""One call's continuous recognition on Azure Speech: the SDK push stream and recognizer, driven turn by turn.

The cascade owns turn-taking, the service owns segmentation: audio pushed during a turn streams to the
service, which sends hypotheses (`recognizing`) and, after `segmentation_silence_ms` of silence, a final
(`recognized`). A turn's text is every final whose audio offset lies in that turn. The stream has no gaps
between turns, so at each turn boundary we append a little silence (segmentation timeout + 100 ms): the
service then ends its phrase there, never merging the end of one turn with the start of the next. The
cascade's own end-of-turn silence (600 ms by default) is longer than our segmentation timeout, so the final
is usually in before `end_of_turn()` is called and it returns at once.

Speech SDK callbacks arrive on SDK threads: each one copies what it needs into plain values and hands them to
the loop with `call_soon_threadsafe`; all session state is touched on the loop thread only. SDK calls that
block (`.get()` on SDK futures, releasing a recognizer) run in a worker thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import azure.cognitiveservices.speech as speechsdk

from voice.audio.resample import StreamResampler
from voice.azure_speech import redact
from voice.errors import ProviderError
from voice.stt.azure_results import FinalPhrase, detailed_confidence
from voice.stt.base import Recognition, SttConfig
from voice.usage.amounts import UsageAmounts
from voice.usage.ledger import current_ledger, report

log = logging.getLogger(__name__)

PROVIDER = "azure-speech"
_TICKS_PER_SECOND = 10_000_000  # SDK offsets and durations are in 100 ns ticks


class AzureSttSession:
    """One call's continuous recognition. Not thread-safe: use it from the event loop that opened it."""

    def __init__(
        self,
        recognizer: speechsdk.SpeechRecognizer,
        stream: speechsdk.audio.PushAudioInputStream,
        config: SttConfig,
        *,
        stream_rate: int,
        languages: list[str],
        key: str,
        timeout_s: float,
        grace_s: float,
        flush_ms: int,
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self._recognizer: speechsdk.SpeechRecognizer | None = recognizer
        self._stream: speechsdk.audio.PushAudioInputStream | None = stream
        self._connection: speechsdk.Connection | None = speechsdk.Connection.from_recognizer(recognizer)
        self._on_partial = config.on_partial
        self._call_id = config.call_id
        self._rate = stream_rate
        # Cheap on 20 ms frames (soxr, in C); only used when the call's rate is not 8 or 16 kHz.
        self._resampler = StreamResampler(config.sample_rate, stream_rate)
        self._language = languages[0] if len(languages) == 1 else None
        self._key = key
        self._timeout_s = timeout_s
        self._grace_s = grace_s
        self._flush = bytes(2 * stream_rate * flush_ms // 1000)
        # Loop-thread state.
        self._samples = 0  # samples written to the stream so far, flush silence included
        self._ledger = current_ledger()  # the call's, captured here: nothing is looked up per frame
        self._turn_start = 0  # tick offset where the current turn's audio begins
        self._turn_has_audio = False
        self._finals: list[FinalPhrase] = []
        self._hypothesis: str | None = None  # latest partial of a phrase not yet final
        self._failure: str | None = None  # why the session is unusable (key redacted)
        self._connected = False
        self._closed = False
        self._changed = asyncio.Event()

    # -- SDK threads -> loop

    def _post(self, handler: Callable[..., None], *args: Any) -> None:
        try:
            self._loop.call_soon_threadsafe(handler, *args)
        except RuntimeError:  # the loop is closed: nobody is listening any more
            pass

    def _sdk_recognizing(self, evt: speechsdk.SpeechRecognitionEventArgs) -> None:
        self._post(self._on_hypothesis, evt.result.text, evt.result.offset)

    def _sdk_recognized(self, evt: speechsdk.SpeechRecognitionEventArgs) -> None:
        result = evt.result
        if result.reason == speechsdk.ResultReason.RecognizedSpeech:
            language = result.properties.get(
                speechsdk.PropertyId.SpeechServiceConnection_AutoDetectSourceLanguageResult
            )
            final = FinalPhrase(result.text, language or None, detailed_confidence(result.json))
            self._post(self._on_final, final, result.offset)
        elif result.reason == speechsdk.ResultReason.NoMatch:
            self._post(self._on_final, None, result.offset)

    def _sdk_canceled(self, evt: speechsdk.SpeechRecognitionCanceledEventArgs) -> None:
        details = evt.cancellation_details
        if details.reason == speechsdk.CancellationReason.Error:
            message = f"recognition canceled ({details.code.name}): {details.error_details}"
            self._post(self._on_failure, message)

    def _sdk_session_stopped(self, evt: speechsdk.SessionEventArgs) -> None:
        self._post(self._on_failure, "recognition session stopped")

    def _sdk_connected(self, evt: speechsdk.ConnectionEventArgs) -> None:
        self._post(self._on_connected)

    # -- loop thread

    def _on_connected(self) -> None:
        self._connected = True
        self._changed.set()

    def _on_failure(self, message: str) -> None:
        if self._failure is None and not self._closed:
            self._failure = redact(message, self._key)
            log.warning("azure stt failed", extra={"call_id": self._call_id, "error": self._failure})
        self._changed.set()

    def _on_hypothesis(self, text: str, offset: int) -> None:
        if self._closed or offset < self._turn_start or not text:
            return  # a phrase of an earlier (ended or discarded) turn
        self._hypothesis = text
        self._changed.set()
        if self._on_partial is not None:
            partial = " ".join([*(f.text for f in self._finals), text])
            try:
                self._on_partial(partial)
            except Exception:
                log.exception("on_partial callback failed", extra={"call_id": self._call_id})

    def _on_final(self, final: FinalPhrase | None, offset: int) -> None:
        if self._closed or offset < self._turn_start:
            return
        self._hypothesis = None
        if final is not None and final.text:
            self._finals.append(final)
        self._changed.set()

    # -- session API

    async def start(self, connect_timeout_s: float) -> None:
        recognizer, connection = self._recognizer, self._connection
        assert recognizer is not None and connection is not None
        recognizer.recognizing.connect(self._sdk_recognizing)
        recognizer.recognized.connect(self._sdk_recognized)
        recognizer.canceled.connect(self._sdk_canceled)
        recognizer.session_stopped.connect(self._sdk_session_stopped)
        connection.connected.connect(self._sdk_connected)
        try:
            await asyncio.to_thread(lambda: recognizer.start_continuous_recognition_async().get())
        except RuntimeError as exc:  # the SDK raises RuntimeError with its error code and details
            raise ProviderError(
                PROVIDER, f"could not start recognition: {redact(str(exc), self._key)}"
            ) from None
        # Connecting happens in the background; wait for it so an unreachable or refusing service fails
        # here, where the fallback chain can pick another provider before the caller speaks.
        try:
            async with asyncio.timeout(connect_timeout_s):
                while not self._connected and self._failure is None:
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            raise ProviderError(
                PROVIDER, f"no connection to the service within {connect_timeout_s:g} s"
            ) from None
        self._raise_if_failed()

    def push(self, pcm: bytes) -> None:
        if pcm:
            self._write(self._resampler.process(pcm))
            self._turn_has_audio = True

    def _write(self, pcm: bytes) -> None:
        if self._closed or self._failure is not None or not pcm or self._stream is None:
            return
        self._stream.write(pcm)  # copies into the SDK's buffer; the SDK sends from its own thread
        self._samples += len(pcm) // 2

    async def end_of_turn(self) -> Recognition:
        self._raise_if_failed()
        if self._closed:
            raise ProviderError(PROVIDER, "session is closed")
        if not self._turn_has_audio and not self._finals and self._hypothesis is None:
            return self._finish_turn(timed_out=False)
        self._end_phrase_here()
        now = self._loop.time()
        deadline, grace_end = now + self._timeout_s, now + self._grace_s
        while True:
            self._raise_if_failed()
            now = self._loop.time()
            if self._hypothesis is None and (self._finals or now >= grace_end):
                return self._finish_turn(timed_out=False)
            if now >= deadline:
                return self._finish_turn(timed_out=True)
            wake = deadline if self._hypothesis is not None else min(deadline, grace_end)
            self._changed.clear()
            try:
                async with asyncio.timeout(wake - now):
                    await self._changed.wait()
            except TimeoutError:
                pass

    def discard_turn(self) -> None:
        self._resampler.reset()
        if self._turn_has_audio:
            self._end_phrase_here()
        self._finals.clear()
        self._hypothesis = None
        self._start_next_turn()

    def _end_phrase_here(self) -> None:
        """Make the service end its phrase at this point of the stream.

        The service ends a phrase after `segmentation_silence_ms` of silence, and the stream has no gaps
        between turns: without enough silence here, the last phrase of this turn would wait for the next turn
        (slow) and merge with its first words (then dropped with the old turn). So add the silence.
        """
        if not self._resampler.passthrough:
            self._write(self._resampler.flush())  # this turn's held-back tail
        self._write(self._flush)

    def _finish_turn(self, *, timed_out: bool) -> Recognition:
        texts = [f.text for f in self._finals]
        if timed_out:
            # Better the service's latest hypothesis than dropping the caller's last words; its final will
            # arrive late and be ignored (its offset is before the next turn).
            log.warning("azure stt final timed out", extra={"call_id": self._call_id})
            if self._hypothesis:
                texts.append(self._hypothesis)
        languages = [f.language for f in self._finals if f.language]
        confidences = [f.confidence for f in self._finals if f.confidence is not None]
        recognition = Recognition(
            text=" ".join(texts),
            language=languages[-1] if languages else self._language,
            confidence=min(confidences) if confidences else None,
        )
        self._finals = []
        self._hypothesis = None
        self._start_next_turn()
        return recognition

    def _start_next_turn(self) -> None:
        self._turn_start = self._samples * _TICKS_PER_SECOND // self._rate
        self._turn_has_audio = False

    def _raise_if_failed(self) -> None:
        if self._failure is not None:
            raise ProviderError(PROVIDER, self._failure)

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._changed.set()
        seconds = round(self._samples / self._rate, 3)
        report(PROVIDER, "stt", UsageAmounts(requests=1, stt_audio_seconds=seconds), ledger=self._ledger)
        recognizer, stream, connection = self._recognizer, self._stream, self._connection
        self._recognizer = self._stream = self._connection = None
        # After a cancellation the SDK has stopped by itself, and stopping again can block for 10 s.
        running = self._failure is None
        if recognizer is None or stream is None or connection is None:
            return
        sdk_objects: list[Any] = [recognizer, stream, connection]
        del recognizer, stream, connection

        def release() -> None:
            rec, audio, conn = sdk_objects
            for signal in (
                rec.recognizing,
                rec.recognized,
                rec.canceled,
                rec.session_stopped,
                conn.connected,
            ):
                signal.disconnect_all()
            try:
                if running:
                    rec.stop_continuous_recognition_async().get()
            finally:
                audio.close()
                # The last references go here, on this thread: the SDK's destructors can block.
                del rec, audio, conn
                sdk_objects.clear()

        try:
            async with asyncio.timeout(5.0):
                await asyncio.to_thread(release)
        except TimeoutError:
            log.warning("azure stt did not stop in time; left to finish in the background")
        except Exception as exc:
            log.warning("azure stt stop failed", extra={"error": redact(str(exc), self._key)})
