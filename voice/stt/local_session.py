"""One call's embedded recognition: the session's worker task (loop side) and its decode jobs (decode-thread
side), turn by turn.

Per-call state stays in the session: the resampler, the noise-floor generator, and the caller's cepstral
mean (the line's average spectrum, which the acoustic model needs subtracted), carried from turn to turn and
set on each checked-out decoder, so recognition adapts to the caller's line without one call's audio ever
affecting another's. The first turn has no mean yet, so it is decoded twice (see `_finish_job`).

With a final pass (Whisper), the turn's audio goes to it once pocketsphinx has finished the turn, in a task of
its own: the worker goes on with the next turn's audio (its partials keep flowing) while Whisper runs.

A turn the caller went on with (`continue_turn`: the cascade finished it early at a pause, then the caller
spoke again) is read as a whole: the audio of its earlier stretches, then the new one, in one pass (Whisper's,
or without a final pass pocketsphinx's own again) whose text replaces theirs (`Recognition.whole_turn`). Read alone, a stretch of a word or two loses its
context: "four eight two one" split at a breath came back as "for eight." + "one", a lone "sure," as
"Sure. Sure. Sure.".
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections import deque
from typing import Final

import numpy as np

from voice.audio.resample import StreamResampler
from voice.errors import ProviderError
from voice.expectation import Expectation
from voice.stt.base import Recognition, SttConfig
from voice.stt.final_pass import MAX_SECONDS, WhisperFinalPass
from voice.stt.local_decoding import (
    DECODER_RATE,
    DecodeResult,
    cmn_frames,
    feed,
    read_result,
    reset,
    turn_mean,
)
from voice.stt.local_engine import Engine, PhraseSlot
from voice.stt.local_turns import (
    CONTINUE,
    DISCARD,
    Continue,
    Discard,
    EndTurn,
    Expect,
    Finished,
    TurnAudio,
)
from voice.usage.amounts import UsageAmounts
from voice.usage.ledger import current_ledger, report

log = logging.getLogger(__name__)

PROVIDER: Final = "pocketsphinx"
LANGUAGE: Final = "en-US"

_MAX_TURN_BYTES = 60 * DECODER_RATE * 2  # audio kept for the fallback decode; longer turns skip it
_MAX_FINAL_PASS_BYTES = int(MAX_SECONDS) * DECODER_RATE * 2  # longer turns keep pocketsphinx's text
_MAX_SECOND_PASS_BYTES = 6 * DECODER_RATE * 2  # a longer first turn is not decoded twice (~0.6 s at most)
_MIN_FALLBACK_BYTES = DECODER_RATE * 2 * 3 // 10  # an empty result on < 0.3 s of audio is just silence
# Digital silence (all-zero samples, e.g. padding or muted frames) drives the log-energy features far
# outside what the acoustic model was trained on and derails the live cepstral mean; a -64 dBFS noise
# floor, far below any real line noise, took in-domain WER from 27% to 2% on zero-padded speech.
_NOISE_FLOOR_STD = 20.0

GENERAL_MODEL_MARGIN = 0.1  # confidence the general model's result needs above the phrase model's to win


class LocalSttSession:
    """One call's recognition. Audio, end-of-turn and discard requests are handled in order by one worker
    task; pushing after `aclose` is ignored (the call is ending anyway), `end_of_turn` raises."""

    def __init__(
        self,
        config: SttConfig,
        slot: PhraseSlot,
        engine: Engine,
        *,
        fallback_below: float,
        final_pass: WhisperFinalPass | None = None,
    ) -> None:
        self._config = config
        self._final_pass = final_pass
        self._phrases = tuple(config.phrases)
        self._finals: dict[asyncio.Task[None], EndTurn] = {}  # final passes in flight, with their requests
        self._slot = slot
        self._engine = engine
        self._fallback_below = fallback_below
        self._loop = asyncio.get_running_loop()
        self._pending: deque[bytes | EndTurn | Discard | Continue | Expect] = deque()
        self._wakeup = asyncio.Event()
        self._closed = False
        self._failure: ProviderError | None = None
        self._current: EndTurn | None = None  # the end-of-turn request being worked on
        self._bytes_pushed = 0
        self._ledger = current_ledger()  # the call's, captured here: nothing is looked up per frame
        # Touched only by jobs on decode threads, which run one at a time for this session.
        self._resampler = StreamResampler(config.sample_rate, DECODER_RATE)
        self._noise = np.random.default_rng(0)
        self._cmn: str | None = None  # the caller's cepstral mean, once a turn has been heard
        self._turn: TurnAudio | None = None
        # Worker side: the audio of the turn that ended last (and of the stretches it continued), and whether
        # the turn being pushed continues it.
        self._spoken = b""
        self._continuing = False
        self._expecting: Expectation | None = None  # what the agent asked for, for the turns that end next
        self._worker = asyncio.create_task(self._run(), name=f"stt-{PROVIDER}-{config.call_id or id(self)}")

    def push(self, pcm: bytes) -> None:
        if self._closed or self._failure is not None or not pcm:
            return
        self._bytes_pushed += len(pcm)
        self._enqueue(bytes(pcm[: len(pcm) & ~1]))  # PCM16: a stray odd byte cannot be a sample

    async def end_of_turn(self) -> Recognition:
        if self._failure is not None:
            raise self._failure
        if self._closed:
            raise ProviderError(PROVIDER, "session is closed")
        future: asyncio.Future[Recognition] = self._loop.create_future()
        self._enqueue(EndTurn(future))
        return await future

    def discard_turn(self) -> None:
        if not self._closed and self._failure is None:
            self._enqueue(DISCARD)

    def continue_turn(self) -> None:
        if not self._closed and self._failure is None:
            self._enqueue(CONTINUE)

    def expect(self, expectation: Expectation | None) -> None:
        """The turns that end after this answer `expectation` (queued behind the audio and turns already pushed,
        so a turn that ended before the agent asked is read without it)."""
        if not self._closed and self._failure is None:
            self._enqueue(Expect(expectation))

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        seconds = round(self._bytes_pushed / 2 / self._config.sample_rate, 3)
        report(PROVIDER, "local", UsageAmounts(requests=1, stt_audio_seconds=seconds), ledger=self._ledger)
        self._worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._worker
        finals, self._finals = self._finals, {}
        for task in finals:
            task.cancel()  # a job still queued for the pool is dropped; a running one finishes unheard
        for task, request in finals.items():
            with contextlib.suppress(asyncio.CancelledError):
                await task
            if not request.future.done():
                request.future.set_exception(ProviderError(PROVIDER, "session closed before the turn ended"))
        # A turn still open keeps its decoder: a job may be using it on a decode thread right now, so
        # it is left to the garbage collector rather than returned to the pool.
        self._turn = None
        self._fail_waiters(ProviderError(PROVIDER, "session closed before the turn ended"))

    # -- worker (event loop side) ---------------------------------------------------------------------

    def _enqueue(self, item: bytes | EndTurn | Discard | Continue | Expect) -> None:
        self._pending.append(item)
        self._wakeup.set()

    async def _run(self) -> None:
        try:
            while True:
                while not self._pending:
                    self._wakeup.clear()
                    await self._wakeup.wait()
                item = self._pending.popleft()
                if isinstance(item, bytes):
                    chunks = [item]  # take all audio queued behind it: one job per batch, not per frame
                    while self._pending and isinstance(head := self._pending[0], bytes):
                        chunks.append(head)
                        self._pending.popleft()
                    partial = await self._engine.run(self._feed_job, b"".join(chunks))
                    if partial is not None and self._config.on_partial is not None:
                        self._loop.call_soon(self._config.on_partial, partial)  # its errors stay its own
                elif isinstance(item, EndTurn):
                    self._current = item
                    finished = await self._engine.run(self._finish_job)
                    if finished.final_pass and self._final_pass is not None and finished.audio is not None:
                        self._current = None
                        self._start_final(item, finished, self._whole_turn(finished.audio), self._final_pass)
                        continue
                    whole = None
                    if finished.audio is None:  # too long to keep: nothing continues it
                        self._spoken, self._continuing = b"", False
                    else:
                        whole = self._whole_turn(finished.audio)
                    if whole is not None:
                        finished = await self._engine.run(self._redecode_job, whole)
                    result = await self._end_turn(finished)
                    if whole is not None:
                        result = dataclasses.replace(result, whole_turn=True)
                    self._current = None
                    if not item.future.done():
                        item.future.set_result(result)
                elif isinstance(item, Expect):
                    self._expecting = item.expectation
                elif isinstance(item, Continue):
                    # Only a turn that has ended continues; audio pushed since is in the open turn already.
                    self._continuing = self._turn is None and bool(self._spoken)
                else:
                    self._continuing = False
                    await self._engine.run(self._discard_job)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # The session is unusable now (the protocol says the caller opens another one).
            log.warning("stt session failed", extra={"provider": PROVIDER, "error": type(exc).__name__})
            self._failure = ProviderError(PROVIDER, f"decoding failed: {exc}")
            self._failure.__cause__ = exc
            self._turn = None  # its decoder may be in a bad state: not returned to the pool
            self._fail_waiters(self._failure)

    def _whole_turn(self, audio: bytes) -> bytes | None:
        """The audio of the whole turn when this stretch continues the one before (None: it does not, or the
        whole would be too long for the final pass); remembered for a stretch that continues this one."""
        continuing, self._continuing = self._continuing, False
        if not continuing:
            self._spoken = audio if len(audio) <= _MAX_FINAL_PASS_BYTES else b""
            return None
        whole = self._spoken + audio
        if len(whole) > _MAX_FINAL_PASS_BYTES:  # this stretch alone; nothing continues a turn read in parts
            self._spoken = b""
            return None
        self._spoken = whole
        return whole

    def _start_final(
        self, request: EndTurn, finished: Finished, whole: bytes | None, final_pass: WhisperFinalPass
    ) -> None:
        if request.future.done():  # its waiter is gone: the turn is not worth a Whisper run
            return
        task = asyncio.create_task(
            self._final_turn(request, finished, whole, final_pass, self._expecting), name="stt-final-pass"
        )
        self._finals[task] = request
        task.add_done_callback(lambda t: self._finals.pop(t, None))
        # A waiter that gives up cancels the run (if still queued for the pool, it never starts).
        request.future.add_done_callback(lambda f: task.cancel() if f.cancelled() else None)

    async def _final_turn(
        self,
        request: EndTurn,
        finished: Finished,
        whole: bytes | None,
        final_pass: WhisperFinalPass,
        expecting: Expectation | None = None,
    ) -> None:
        assert finished.audio is not None
        try:
            # pocketsphinx's text covers this stretch only: it describes a turn read whole no better than nothing
            heard = "" if whole is not None else finished.phrase.text
            final = await final_pass.transcribe(whole or finished.audio, self._phrases, heard, expecting)
        except Exception as exc:  # pocketsphinx's text stands
            log.warning("stt final pass failed", extra={"error": type(exc).__name__})
            final = None
        if final is None:
            try:
                result = await self._end_turn(finished)
            except Exception as exc:
                if not request.future.done():
                    request.future.set_exception(ProviderError(PROVIDER, f"decoding failed: {exc}"))
                return
        else:
            result = Recognition(
                final.text, language=LANGUAGE, confidence=final.confidence, whole_turn=whole is not None
            )
        if not request.future.done():
            request.future.set_result(result)

    async def _end_turn(self, finished: Finished) -> Recognition:
        best = finished.phrase
        if finished.fallback_audio is not None and self._cmn is not None:
            try:
                general = await self._engine.run_general(
                    self._engine.general.decode, finished.fallback_audio, self._cmn
                )
            except Exception as exc:  # the phrase result still stands; the next fallback reloads the model
                log.warning("stt general-model fallback failed", extra={"error": type(exc).__name__})
            else:
                # The general model must be clearly surer: an in-domain guess with a word or two wrong
                # ("what to checking balance") still routes right, an open-vocabulary one rarely does.
                if general.text and general.confidence > best.confidence + GENERAL_MODEL_MARGIN:
                    best = general
        return Recognition(best.text, language=LANGUAGE, confidence=round(best.confidence, 3))

    def _fail_waiters(self, error: ProviderError) -> None:
        waiting = [self._current, *self._pending]
        self._current = None
        self._pending.clear()
        for item in waiting:
            if isinstance(item, EndTurn) and not item.future.done():
                item.future.set_exception(error)

    # -- jobs (decode thread side) --------------------------------------------------------------------

    def _to_decoder_audio(self, pcm: bytes, *, last: bool = False) -> bytes:
        """Resample to 16 kHz and add the noise floor; `last` flushes (and resets) the resampler."""
        audio = self._resampler.flush() if last else self._resampler.process(pcm)
        if not audio:
            return b""
        samples = np.frombuffer(audio, dtype="<i2").astype(np.float32)
        samples += self._noise.normal(0.0, _NOISE_FLOOR_STD, samples.shape).astype(np.float32)
        return np.clip(np.rint(samples), -32768, 32767).astype("<i2").tobytes()

    def _feed_job(self, pcm: bytes) -> str | None:
        """Decode more of the turn (starting it if needed); returns the partial text if it changed."""
        audio = self._to_decoder_audio(pcm)
        turn = self._turn
        if turn is None:
            decoder = self._slot.acquire()
            reset(decoder, self._cmn or self._slot.initial_cmn)
            decoder.start_utt()
            turn = self._turn = TurnAudio(decoder)
        self._keep(turn, audio)
        feed(turn.decoder, audio)
        hyp = turn.decoder.hyp()
        text = hyp.hypstr.strip() if hyp is not None else ""
        if not text or text == turn.partial:
            return None
        turn.partial = text
        return text

    def _finish_job(self) -> Finished:
        tail = self._to_decoder_audio(b"", last=True)
        turn, self._turn = self._turn, None
        if turn is None:  # nothing pushed since the last turn (so the resampler held nothing either)
            return Finished(DecodeResult("", 0.0))
        self._keep(turn, tail)
        decoder = turn.decoder
        feed(decoder, tail)
        decoder.end_utt()
        first_turn = self._cmn is None
        self._cmn = decoder.get_cmn(True)  # True: fold this turn into the mean now, for the next turn
        final_pass = (
            self._final_pass is not None and not turn.truncated and len(turn.audio) <= _MAX_FINAL_PASS_BYTES
        )
        if first_turn and final_pass:  # no second decode (Whisper's text is final), but the mean is refined
            self._cmn = turn_mean(self._slot.initial_cmn, self._cmn, cmn_frames(decoder)) or self._cmn
        elif first_turn and not turn.truncated and len(turn.audio) <= _MAX_SECOND_PASS_BYTES:
            # The first turn was decoded with pocketsphinx's generic mean, far from this line's: decode it
            # again with the turn's own (first-turn WER 28% -> 8% at 16 kHz, 79% -> 41% at 8 kHz on our
            # test set), and start the next turn from it. A phrase-model pass costs ~0.1 x the turn's
            # duration, once per call.
            self._cmn = turn_mean(self._slot.initial_cmn, self._cmn, cmn_frames(decoder)) or self._cmn
            reset(decoder, self._cmn)
            decoder.start_utt()
            feed(decoder, turn.audio)
            decoder.end_utt()
        best = read_result(decoder, self._slot.model.bigrams)
        self._slot.release(decoder)
        poor = best.confidence < self._fallback_below
        fallback = poor and not turn.truncated and (bool(best.text) or len(turn.audio) >= _MIN_FALLBACK_BYTES)
        if turn.truncated:
            return Finished(best)
        # The audio goes back with the result: for the final pass or the fallback, and to re-read the turn
        # whole should the caller go on with it.
        return Finished(best, bytes(turn.audio), fallback=fallback, final_pass=final_pass)

    def _redecode_job(self, whole: bytes) -> Finished:
        """Pocketsphinx over the whole continued turn (its earlier stretches, then this one) in one utterance:
        a stretch of a word or two read alone loses the context the phrase model needs ("i'm allergic" +
        "and the loot" for "I'm allergic to penicillin")."""
        decoder = self._slot.acquire()
        try:
            reset(decoder, self._cmn or self._slot.initial_cmn)
            decoder.start_utt()
            feed(decoder, whole)
            decoder.end_utt()
            best = read_result(decoder, self._slot.model.bigrams)
        finally:
            self._slot.release(decoder)
        poor = best.confidence < self._fallback_below
        return Finished(best, whole, fallback=poor and (bool(best.text) or len(whole) >= _MIN_FALLBACK_BYTES))

    def _discard_job(self) -> None:
        self._resampler.reset()
        turn, self._turn = self._turn, None
        if turn is not None:
            turn.decoder.end_utt()
            self._slot.release(turn.decoder)

    @staticmethod
    def _keep(turn: TurnAudio, audio: bytes) -> None:
        if turn.truncated or len(turn.audio) + len(audio) > _MAX_TURN_BYTES:
            turn.truncated = True
        else:
            turn.audio += audio
