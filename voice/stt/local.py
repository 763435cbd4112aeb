"""Embedded speech-to-text: pocketsphinx 5 with a per-scenario phrase language model, offline.

How a turn is recognised:
- Audio is resampled to 16 kHz and decoded incrementally against the scenario's phrase model (see
  `phrase_model`), so partials flow while the caller speaks and `end_of_turn` only finalises.
- If that result looks poor (empty, or low confidence: mean word posterior x the share of words the phrase
  model predicted from a bigram or trigram), the turn's buffered audio is decoded again with pocketsphinx's
  general en-US model (~130k words), whose result is taken if its confidence is higher: open speech stays
  possible, if weak (on our espeak test set: out-of-domain WER 84% -> 41%, in-domain 10% -> 12%).

Threads and sharing. pocketsphinx's bindings hold the GIL inside `process_raw`, so decoding gains nothing
from parallel threads and every call stalls the event loop for its duration: audio is fed in short slices
on a small process-wide executor, and each session's jobs run one at a time from its own worker task. Decoders are stateful, so none is
shared while in use: phrase decoders (~30 ms and ~8 MB to create) are checked out per turn from a pool per
phrase model. The general model (~0.4 s and ~95 MB to load, by `prepare`) has one decoder, used only
from its own thread, so fallbacks queue behind each other rather than load a second one mid-call. Phrase models are built once per phrase set and cached process-wide (read-only).

Per-call state stays in the session: the resampler, the noise-floor generator, and the caller's cepstral
mean (the line's average spectrum, which the acoustic model needs subtracted), carried from turn to turn and
set on each checked-out decoder, so recognition adapts to the caller's line without one call's audio ever
affecting another's. The first turn has no mean yet, so it is decoded twice (see `_finish_job`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, TypeVar

import numpy as np
import pocketsphinx

from voice.audio.resample import StreamResampler
from voice.errors import ProviderError
from voice.stt.base import Recognition, SttConfig
from voice.stt.phrase_model import PhraseModel, build_phrase_model, phrase_key

log = logging.getLogger(__name__)

PROVIDER: Final = "pocketsphinx"
LANGUAGE: Final = "en-US"
DECODER_RATE: Final = 16000

# process_raw holds the GIL: slices bound each stall of the event loop (p99 ~2 ms with a phrase model,
# ~11 ms with the general model, whose beam search is ~5x heavier).
_PHRASE_SLICE_BYTES = DECODER_RATE // 50 * 2  # 20 ms
_GENERAL_SLICE_BYTES = DECODER_RATE // 100 * 2  # 10 ms
_MAX_TURN_BYTES = 60 * DECODER_RATE * 2  # audio kept for the fallback decode; longer turns skip it
_MAX_SECOND_PASS_BYTES = 6 * DECODER_RATE * 2  # a longer first turn is not decoded twice (~0.6 s at most)
_MIN_FALLBACK_BYTES = DECODER_RATE * 2 * 3 // 10  # an empty result on < 0.3 s of audio is just silence
# Digital silence (all-zero samples, e.g. padding or muted frames) drives the log-energy features far
# outside what the acoustic model was trained on and derails the live cepstral mean; a -64 dBFS noise
# floor, far below any real line noise, took in-domain WER from 27% to 2% on zero-padded speech.
_NOISE_FLOOR_STD = 20.0
_IDLE_PHRASE_DECODERS = 4  # per phrase model; more are created on demand and dropped on return
_MAX_PHRASE_MODELS = 16
_DECODE_THREADS = 2

GENERAL_MODEL_MARGIN = 0.1  # confidence the general model's result needs above the phrase model's to win
_T = TypeVar("_T")


def _quiet_config(**kwargs: object) -> dict[str, object]:
    return {"loglevel": "FATAL", **kwargs}  # pocketsphinx logs every utterance to stderr otherwise


# ---------------------------------------------------------------------------------------------------------
# Decoding helpers (all run on decode threads)


@dataclass(frozen=True, slots=True)
class _Result:
    text: str
    confidence: float


def _feed(
    decoder: pocketsphinx.Decoder, audio: bytes | bytearray, slice_bytes: int = _PHRASE_SLICE_BYTES
) -> None:
    view = memoryview(audio)
    for start in range(0, len(view), slice_bytes):
        decoder.process_raw(view[start : start + slice_bytes])


def _result(decoder: pocketsphinx.Decoder) -> _Result:
    """Final text and a 0..1 confidence: mean word posterior x share of words an n-gram (not a unigram
    backoff) predicted. Speech the model does not cover gets forced onto unrelated words, which both
    lowers their posteriors and breaks the phrase model's word orders."""
    hyp = decoder.hyp()
    text = hyp.hypstr.strip() if hyp is not None else ""
    words = [s for s in decoder.seg() if not s.word.startswith(("<", "["))]  # skip <s>, <sil>, [NOISE]
    if not text or not words:
        return _Result("", 0.0)
    posterior = sum(min(1.0, max(0.0, s.prob)) for s in words) / len(words)
    ngram_share = sum(s.lback >= 2 for s in words) / len(words)
    return _Result(text, posterior * ngram_share)


def _reset(decoder: pocketsphinx.Decoder, cmn: str) -> None:
    """Forget every trace of the decoder's previous utterance (it may have been another call's): the
    front end keeps state across utterances (~0.1 ms to reinitialise), and the cepstral mean is set."""
    decoder.reinit_feat()
    decoder.set_cmn(cmn)


def _cmn_frames(decoder: pocketsphinx.Decoder) -> int:
    return decoder.n_frames() - 1  # the CMN sees one frame fewer than the search (measured: exact)


_CMN_PRIOR_FRAMES = 500  # pocketsphinx src/feat/cmn.h: CMN_WIN (weight of the mean set with set_cmn)
_CMN_SHIFT_FRAMES = 800  # CMN_WIN_HWM: past this the live mean is re-estimated mid-turn


def _turn_mean(prior: str, blended: str, frames: int) -> str | None:
    """The cepstral mean of the turn alone, or None when it cannot be recovered.

    pocketsphinx's live CMN weighs the mean it was given as `_CMN_PRIOR_FRAMES` frames, adds each frame of
    the turn, and `get_cmn(True)` returns the blend; once it reaches `_CMN_SHIFT_FRAMES` it re-estimates
    and decays the sums mid-turn, and the blend is then mostly the turn's anyway. Un-blending is one
    subtraction per coefficient, where another pass over the audio would move only a third of the way.
    """
    if not prior or not 0 < frames <= _CMN_SHIFT_FRAMES - _CMN_PRIOR_FRAMES:
        return None
    try:
        p = [float(x) for x in prior.split(",")]
        b = [float(x) for x in blended.split(",")]
    except ValueError:
        return None
    if len(p) != len(b):
        return None
    total = _CMN_PRIOR_FRAMES + frames
    return ",".join(
        f"{(bi * total - pi * _CMN_PRIOR_FRAMES) / frames:.4f}" for pi, bi in zip(p, b, strict=True)
    )


# ---------------------------------------------------------------------------------------------------------
# Process-wide, read-only resources


class _PhraseSlot:
    """A phrase model and its idle decoders. Decoders are checked out for one turn at a time."""

    def __init__(self, model: PhraseModel) -> None:
        self.model = model
        self.initial_cmn = ""  # pocketsphinx's generic starting mean, read from the first decoder
        self._idle: list[pocketsphinx.Decoder] = []
        self._lock = threading.Lock()

    def acquire(self) -> pocketsphinx.Decoder:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return self._create()

    def release(self, decoder: pocketsphinx.Decoder) -> None:
        with self._lock:
            if len(self._idle) < _IDLE_PHRASE_DECODERS:
                self._idle.append(decoder)

    def warm(self) -> None:
        with self._lock:
            if self._idle:
                return
        self.release(self._create())

    def _create(self) -> pocketsphinx.Decoder:
        # The decoder reads its files only while it is created, so they need not outlive this call.
        with tempfile.TemporaryDirectory(prefix="switchboard-stt-") as tmp:
            lm, dictionary = Path(tmp, "phrases.arpa"), Path(tmp, "phrases.dict")
            lm.write_text(self.model.arpa, encoding="utf-8")
            dictionary.write_text(self.model.dictionary, encoding="utf-8")
            # No fwdflat pass: it adds end-of-turn latency and changed nothing on a small phrase model.
            # bestpath stays on: it computes the word posteriors the confidence is built from.
            decoder = pocketsphinx.Decoder(**_quiet_config(lm=str(lm), dict=str(dictionary), fwdflat=False))
        self.initial_cmn = self.initial_cmn or decoder.get_cmn()
        return decoder


class _PhraseModels:
    """LRU cache of phrase models by phrase-set hash. Building runs on a decode thread, one at a time."""

    def __init__(self) -> None:
        self._slots: OrderedDict[str, _PhraseSlot] = OrderedDict()
        self._lock = threading.Lock()
        self._build_lock = threading.Lock()

    def slot_for(self, phrases: Sequence[str]) -> _PhraseSlot:
        key = phrase_key(phrases)
        with self._build_lock:  # builds are rare: serialising them avoids building one set twice
            with self._lock:
                if (slot := self._slots.get(key)) is not None:
                    self._slots.move_to_end(key)
                    return slot
            model = build_phrase_model(phrases)
            if model.dropped:
                log.info(
                    "stt phrase words without pronunciation dropped", extra={"count": len(model.dropped)}
                )
            slot = _PhraseSlot(model)
            with self._lock:
                self._slots[key] = slot
                while len(self._slots) > _MAX_PHRASE_MODELS:
                    self._slots.popitem(last=False)  # in-use decoders finish their turn, then are dropped
            return slot


class _GeneralModel:
    """The one decoder with pocketsphinx's general en-US model (~0.4 s and ~95 MB to load).

    It is used only from its own single-thread executor: decoding is GIL-bound, so concurrent fallbacks
    would not finish sooner on two decoders, and one means no second load (a ~0.4 s loop stall) mid-call.
    """

    def __init__(self) -> None:
        self._decoder: pocketsphinx.Decoder | None = None

    def warm(self) -> None:
        if self._decoder is None:
            # The bundled en-us model, lm and CMUdict. No fwdflat pass: it runs inside end_utt, holding
            # the GIL for up to ~0.4 s, and took WER only from 48% to 47% on our set (RTF 0.31 -> 0.44).
            self._decoder = pocketsphinx.Decoder(**_quiet_config(fwdflat=False))

    def decode(self, audio: bytes, cmn: str) -> _Result:
        self.warm()
        decoder, self._decoder = self._decoder, None  # dropped if anything below raises: state unknown
        assert decoder is not None
        _reset(decoder, cmn)
        decoder.start_utt()
        _feed(decoder, audio, _GENERAL_SLICE_BYTES)
        decoder.end_utt()
        result = _result(decoder)
        self._decoder = decoder
        return result


@dataclass
class _Engine:
    executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(_DECODE_THREADS, thread_name_prefix="pocketsphinx")
    )
    general_executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="pocketsphinx-general")
    )
    phrase_models: _PhraseModels = field(default_factory=_PhraseModels)
    general: _GeneralModel = field(default_factory=_GeneralModel)

    async def run(self, fn: Callable[..., _T], *args: object) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    async def run_general(self, fn: Callable[..., _T], *args: object) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self.general_executor, fn, *args)


_engine: _Engine | None = None
_engine_lock = threading.Lock()


def _get_engine() -> _Engine:
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = _Engine()
        return _engine


@dataclass(frozen=True, slots=True)
class _Finished:
    phrase: _Result
    fallback_audio: bytes | None  # the turn's audio, when the general model should try it too


@dataclass
class _Turn:
    decoder: pocketsphinx.Decoder
    audio: bytearray = field(default_factory=bytearray)  # 16 kHz with noise floor, for the fallback decode
    truncated: bool = False  # longer than _MAX_TURN_BYTES: no fallback decode
    partial: str = ""


# ---------------------------------------------------------------------------------------------------------
# Public API


class LocalSpeechToText:
    """`SpeechToText` on embedded pocketsphinx (en-US only).

    `open_session` with a phrase set that was never prepared builds its model first (~0.3 s, on a decode
    thread); an empty phrase set still gets a model of numbers, dates and short answers, and anything
    else goes through the general-model fallback.
    """

    name = PROVIDER

    def __init__(self, *, fallback_below: float = 0.4) -> None:
        """`fallback_below`: confidence under which the general model re-decodes the turn (0 disables).

        On our espeak test set (16 and 24 kHz), correctly recognised in-domain turns scored >= 0.48 and
        out-of-domain ones <= 0.35. A re-decode costs ~0.3 x the turn's duration of CPU.
        """
        self.fallback_below = fallback_below

    async def prepare(self, phrases: Sequence[str]) -> None:
        engine = _get_engine()
        slot = await engine.run(engine.phrase_models.slot_for, tuple(phrases))
        await engine.run(slot.warm)
        if self.fallback_below > 0:
            await engine.run_general(engine.general.warm)

    async def open_session(self, config: SttConfig) -> LocalSttSession:
        if not any(lang.lower().split("-")[0] == "en" for lang in config.languages):
            raise ProviderError(
                PROVIDER,
                f"the embedded model recognises en-US only, not {', '.join(config.languages) or '-'}",
            )
        if config.sample_rate <= 0:
            raise ProviderError(PROVIDER, f"invalid sample rate {config.sample_rate}")
        engine = _get_engine()
        try:
            slot = await engine.run(engine.phrase_models.slot_for, tuple(config.phrases))
        except Exception as exc:
            raise ProviderError(PROVIDER, f"could not build the phrase model: {exc}") from exc
        return LocalSttSession(config, slot, engine, fallback_below=self.fallback_below)


class _EndTurn:
    __slots__ = ("future",)

    def __init__(self, future: asyncio.Future[Recognition]) -> None:
        self.future = future


class _Discard:
    pass


_DISCARD: Final = _Discard()


class LocalSttSession:
    """One call's recognition. Audio, end-of-turn and discard requests are handled in order by one worker
    task; pushing after `aclose` is ignored (the call is ending anyway), `end_of_turn` raises."""

    def __init__(
        self, config: SttConfig, slot: _PhraseSlot, engine: _Engine, *, fallback_below: float
    ) -> None:
        self._config = config
        self._slot = slot
        self._engine = engine
        self._fallback_below = fallback_below
        self._loop = asyncio.get_running_loop()
        self._pending: deque[bytes | _EndTurn | _Discard] = deque()
        self._wakeup = asyncio.Event()
        self._closed = False
        self._failure: ProviderError | None = None
        self._current: _EndTurn | None = None  # the end-of-turn request being worked on
        # Touched only by jobs on decode threads, which run one at a time for this session.
        self._resampler = StreamResampler(config.sample_rate, DECODER_RATE)
        self._noise = np.random.default_rng(0)
        self._cmn: str | None = None  # the caller's cepstral mean, once a turn has been heard
        self._turn: _Turn | None = None
        self._worker = asyncio.create_task(self._run(), name=f"stt-{PROVIDER}-{config.call_id or id(self)}")

    def push(self, pcm: bytes) -> None:
        if self._closed or self._failure is not None or not pcm:
            return
        self._enqueue(bytes(pcm[: len(pcm) & ~1]))  # PCM16: a stray odd byte cannot be a sample

    async def end_of_turn(self) -> Recognition:
        if self._failure is not None:
            raise self._failure
        if self._closed:
            raise ProviderError(PROVIDER, "session is closed")
        future: asyncio.Future[Recognition] = self._loop.create_future()
        self._enqueue(_EndTurn(future))
        return await future

    def discard_turn(self) -> None:
        if not self._closed and self._failure is None:
            self._enqueue(_DISCARD)

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._worker
        # A turn still open keeps its decoder: a job may be using it on a decode thread right now, so
        # it is left to the garbage collector rather than returned to the pool.
        self._turn = None
        self._fail_waiters(ProviderError(PROVIDER, "session closed before the turn ended"))

    # -- worker (event loop side) ---------------------------------------------------------------------

    def _enqueue(self, item: bytes | _EndTurn | _Discard) -> None:
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
                    while self._pending and isinstance(self._pending[0], bytes):
                        chunks.append(self._pending.popleft())  # type: ignore[arg-type]
                    partial = await self._engine.run(self._feed_job, b"".join(chunks))
                    if partial is not None and self._config.on_partial is not None:
                        self._loop.call_soon(self._config.on_partial, partial)  # its errors stay its own
                elif isinstance(item, _EndTurn):
                    self._current = item
                    result = await self._end_turn()
                    self._current = None
                    if not item.future.done():
                        item.future.set_result(result)
                else:
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

    async def _end_turn(self) -> Recognition:
        finished = await self._engine.run(self._finish_job)
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
            if isinstance(item, _EndTurn) and not item.future.done():
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
            _reset(decoder, self._cmn or self._slot.initial_cmn)
            decoder.start_utt()
            turn = self._turn = _Turn(decoder)
        self._keep(turn, audio)
        _feed(turn.decoder, audio)
        hyp = turn.decoder.hyp()
        text = hyp.hypstr.strip() if hyp is not None else ""
        if not text or text == turn.partial:
            return None
        turn.partial = text
        return text

    def _finish_job(self) -> _Finished:
        tail = self._to_decoder_audio(b"", last=True)
        turn, self._turn = self._turn, None
        if turn is None:  # nothing pushed since the last turn (so the resampler held nothing either)
            return _Finished(_Result("", 0.0), None)
        self._keep(turn, tail)
        decoder = turn.decoder
        _feed(decoder, tail)
        decoder.end_utt()
        first_turn = self._cmn is None
        self._cmn = decoder.get_cmn(True)  # True: fold this turn into the mean now, for the next turn
        if first_turn and not turn.truncated and len(turn.audio) <= _MAX_SECOND_PASS_BYTES:
            # The first turn was decoded with pocketsphinx's generic mean, far from this line's: decode it
            # again with the turn's own (first-turn WER 28% -> 8% at 16 kHz, 79% -> 41% at 8 kHz on our
            # test set), and start the next turn from it. A phrase-model pass costs ~0.1 x the turn's
            # duration, once per call.
            self._cmn = _turn_mean(self._slot.initial_cmn, self._cmn, _cmn_frames(decoder)) or self._cmn
            _reset(decoder, self._cmn)
            decoder.start_utt()
            _feed(decoder, turn.audio)
            decoder.end_utt()
        best = _result(decoder)
        self._slot.release(decoder)
        poor = best.confidence < self._fallback_below
        if poor and not turn.truncated and (best.text or len(turn.audio) >= _MIN_FALLBACK_BYTES):
            return _Finished(best, bytes(turn.audio))
        return _Finished(best, None)

    def _discard_job(self) -> None:
        self._resampler.reset()
        turn, self._turn = self._turn, None
        if turn is not None:
            turn.decoder.end_utt()
            self._slot.release(turn.decoder)

    @staticmethod
    def _keep(turn: _Turn, audio: bytes) -> None:
        if turn.truncated or len(turn.audio) + len(audio) > _MAX_TURN_BYTES:
            turn.truncated = True
        else:
            turn.audio += audio
