"""The embedded recogniser's process-wide resources: phrase models with their decoder pools, the general
en-US model, and the executors that run every decode.

Threads and sharing. pocketsphinx's bindings hold the GIL inside `process_raw`, so decoding gains nothing
from parallel threads and every call stalls the event loop for its duration: audio is fed in short slices
on a small process-wide executor, and each session's jobs run one at a time from its own worker task.
Decoders are stateful, so none is shared while in use: phrase decoders (~30 ms and ~8 MB to create) are
checked out per turn from a pool per phrase model. The general model (~0.4 s and ~95 MB to load, by
`prepare`) has one decoder, used only from its own thread, so fallbacks queue behind each other rather
than load a second one mid-call. Phrase models are built once per phrase set and cached process-wide
(read-only).
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import pocketsphinx

from voice.stt.local_decoding import GENERAL_SLICE_BYTES, DecodeResult, feed, quiet_config, read_result, reset
from voice.stt.phrase_model import PhraseModel, build_phrase_model, phrase_key

log = logging.getLogger(__name__)

_IDLE_PHRASE_DECODERS = 4  # per phrase model; more are created on demand and dropped on return
_MAX_PHRASE_MODELS = 16
_DECODE_THREADS = 2
_T = TypeVar("_T")


class PhraseSlot:
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
            decoder = pocketsphinx.Decoder(**quiet_config(lm=str(lm), dict=str(dictionary), fwdflat=False))
        self.initial_cmn = self.initial_cmn or decoder.get_cmn()
        return decoder


class PhraseModels:
    """LRU cache of phrase models by phrase-set hash. Building runs on a decode thread, one at a time."""

    def __init__(self) -> None:
        self._slots: OrderedDict[str, PhraseSlot] = OrderedDict()
        self._lock = threading.Lock()
        self._build_lock = threading.Lock()

    def slot_for(self, phrases: Sequence[str]) -> PhraseSlot:
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
            slot = PhraseSlot(model)
            with self._lock:
                self._slots[key] = slot
                while len(self._slots) > _MAX_PHRASE_MODELS:
                    self._slots.popitem(last=False)  # in-use decoders finish their turn, then are dropped
            return slot


class GeneralModel:
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
            self._decoder = pocketsphinx.Decoder(**quiet_config(fwdflat=False))

    def decode(self, audio: bytes, cmn: str) -> DecodeResult:
        self.warm()
        decoder, self._decoder = self._decoder, None  # dropped if anything below raises: state unknown
        assert decoder is not None
        reset(decoder, cmn)
        decoder.start_utt()
        feed(decoder, audio, GENERAL_SLICE_BYTES)
        decoder.end_utt()
        result = read_result(decoder)
        self._decoder = decoder
        return result


@dataclass
class Engine:
    """Everything the embedded recogniser shares across calls, created once per process (`get_engine`)."""

    executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(_DECODE_THREADS, thread_name_prefix="pocketsphinx")
    )
    general_executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="pocketsphinx-general")
    )
    phrase_models: PhraseModels = field(default_factory=PhraseModels)
    general: GeneralModel = field(default_factory=GeneralModel)

    async def run(self, fn: Callable[..., _T], *args: object) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    async def run_general(self, fn: Callable[..., _T], *args: object) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self.general_executor, fn, *args)


_engine: Engine | None = None
_engine_lock = threading.Lock()


def get_engine() -> Engine:
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = Engine()
        return _engine
