"""The end-of-turn model for every call of the process, batched and off the event loop.

A call asks for a score when its caller pauses (`score`); the request waits while a run is in flight, and the
next run takes the requests waiting then (up to `max_batch`): features, resampling and inference all happen
in one worker thread, so the loop only stacks requests and resolves futures. Batches stay small: a batch of
8 costs about the same CPU per turn as single runs (45 vs 50 ms) while onnxruntime's arena keeps the
largest batch's working memory for good (about 250 MB at 8, 65 MB at 2, measured on this machine). A request whose caller went on
talking is cancelled by its call and skipped. When more than `max_pending` requests wait, or the model has
been busy more than `max_busy` of the last second (one inference costs 50-150 ms of a core, and the calls'
frames need that core too), new requests get None at once and their calls decide from the words alone.

The model is loaded (and run once, the slow first run) in the worker thread too, about 0.5 s: calls placed
before it is ready get None. The service waits for that load (`wait_loaded`) before it reports ready.

The worker thread runs at a lower scheduling priority (`MODEL_THREAD_NICE` above the process): a score only
shortens a wait, while a late 20 ms frame is a gap every call hears, so when the core is contended the event
loop goes first. A run the loop starved takes longer, counts as busy, and new requests are refused sooner.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from voice.audio.resample import resample_pcm16
from voice.audio.turn_model import FRAMES, N_MELS, SAMPLE_RATE, SmartTurnModel, log_mel, model_available

log = logging.getLogger(__name__)

MODEL_THREAD_NICE = 10
"""Nice increment of the model's thread (Linux CFS: about a tenth of the core's share when the loop wants it)."""


def lower_this_thread_priority(increment: int = MODEL_THREAD_NICE) -> None:
    """Raise the calling thread's nice value (per thread on Linux; no privilege needed to lower priority).
    Where the platform has no per-thread priority, the thread keeps the process's."""
    with contextlib.suppress(AttributeError, OSError):
        thread = threading.get_native_id()
        current = os.getpriority(os.PRIO_PROCESS, thread)
        os.setpriority(os.PRIO_PROCESS, thread, min(19, current + increment))


class TurnScorer(Protocol):
    """Probability that a caller's turn is complete, from its audio (None: no answer, decide without it)."""

    async def score(self, pcm: bytes, sample_rate: int) -> float | None: ...


@dataclass(slots=True)
class _Request:
    pcm: bytes
    sample_rate: int
    done: asyncio.Future[float | None]


def _features(pcm: bytes, sample_rate: int) -> np.ndarray:
    if sample_rate != SAMPLE_RATE:
        pcm = resample_pcm16(pcm, sample_rate, SAMPLE_RATE)
    audio = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
    return log_mel(audio)


class TurnModelBatcher:
    def __init__(
        self,
        model: SmartTurnModel | None = None,
        *,
        max_batch: int = 2,
        max_pending: int = 32,
        max_busy: float = 0.3,
    ) -> None:
        self._executor = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="turn-model", initializer=lower_this_thread_priority
        )
        self._model: SmartTurnModel | None = model
        self._max_batch = max_batch
        self._max_pending = max_pending
        self._max_busy = max_busy
        self._runs: deque[tuple[float, float]] = deque()  # (ended, seconds) of the runs of the last second
        self._pending: list[_Request] = []
        self._running: asyncio.Future[np.ndarray] | None = None
        self.runs = 0
        self.scored = 0
        self.refused = 0
        """Requests answered None because too many were waiting."""
        self._loading: Future[None] | None = None if model is not None else self._executor.submit(self._load)

    def _load(self) -> None:
        try:
            model = SmartTurnModel()
            # The first run is slow; a full batch also sizes onnxruntime's arena now, a fixed cost at start-up
            # rather than memory that appears with the first busy moment of a call.
            model.complete_probability(np.zeros((self._max_batch, N_MELS, FRAMES), dtype=np.float32))
            self._model = model
        except Exception as exc:  # a broken install: calls carry on with the text signal
            log.error(
                "end-of-turn model could not be loaded", extra={"error": f"{type(exc).__name__}: {exc}"}
            )

    @property
    def ready(self) -> bool:
        return self._model is not None

    async def wait_loaded(self) -> bool:
        """Once the load started at construction has finished: whether the model is usable (a broken install
        has been logged; calls then decide from the words alone)."""
        if self._loading is not None:
            await asyncio.wrap_future(self._loading)
        return self.ready

    def busy_fraction(self, now: float | None = None) -> float:
        """Share of the last second the model spent running."""
        now = time.monotonic() if now is None else now
        while self._runs and self._runs[0][0] < now - 1.0:
            self._runs.popleft()
        return sum(seconds for _, seconds in self._runs)

    async def score(self, pcm: bytes, sample_rate: int) -> float | None:
        if self._model is None:
            return None
        if len(self._pending) >= self._max_pending or self.busy_fraction() > self._max_busy:
            self.refused += 1
            return None
        request = _Request(pcm, sample_rate, asyncio.get_running_loop().create_future())
        self._pending.append(request)
        if self._running is None:
            self._start_run()
        return await request.done

    def _start_run(self) -> None:
        waiting = [r for r in self._pending if not r.done.done()]  # cancelled: that caller went on
        batch, self._pending = waiting[: self._max_batch], waiting[self._max_batch :]
        if not batch:
            self._running = None
            return
        loop = asyncio.get_running_loop()
        work = [(r.pcm, r.sample_rate) for r in batch]
        started = time.monotonic()
        self._running = loop.run_in_executor(self._executor, self._run, work)
        self._running.add_done_callback(lambda run: self._finish(run, batch, started))

    def _run(self, work: list[tuple[bytes, int]]) -> np.ndarray:
        assert self._model is not None
        features = np.stack([_features(pcm, rate) for pcm, rate in work])
        return self._model.complete_probability(features)

    def _finish(self, run: asyncio.Future[np.ndarray], batch: list[_Request], started: float) -> None:
        self.runs += 1
        now = time.monotonic()
        self._runs.append((now, now - started))
        error = run.exception() if not run.cancelled() else asyncio.CancelledError()
        for i, request in enumerate(batch):
            if request.done.done():
                continue
            if error is not None:
                log.warning("end-of-turn model run failed", extra={"error": type(error).__name__})
                request.done.set_result(None)
            else:
                self.scored += 1
                request.done.set_result(float(run.result()[i]))
        self._running = None
        if self._pending:
            self._start_run()

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        for request in self._pending:
            if not request.done.done():
                request.done.set_result(None)
        self._pending = []


_shared: TurnModelBatcher | None = None
_shared_lock = threading.Lock()


def shared_turn_batcher() -> TurnModelBatcher | None:
    """The process-wide batcher when the model is installed (its load starts in the background), else None.
    Thread-safe: calls and start-up may ask from different threads."""
    global _shared
    with _shared_lock:
        if _shared is None and model_available():
            _shared = TurnModelBatcher()
        return _shared
