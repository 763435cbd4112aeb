"""Silero VAD for every call of the process in shared ONNX runs.

One inference per 32 ms window per call costs ~0.1 ms at 8 kHz; one run over a batch costs ~0.03 ms per
window (measured on this machine, batches of 8-32; about 0.1 and 0.045 ms at 16 kHz). So calls hand their
ready windows here and await the result:
the first window of a batch arms a `max_wait_s` timer (5 ms: batches of ~5-15 windows at 50-100 calls,
where a run costs about half the per-window price of single runs, for at most 5 ms on each frame), and the batch runs when the timer fires or
`max_batch` windows are waiting, whichever is first. A call's consecutive windows go into consecutive
runs, since each depends on the recurrent state the previous one left.

Quiet windows (peak below `silence_floor`, about -56 dBFS: what ACS sends while the caller is quiet, far
below any speech on a phone line) get probability 0 without running the model, and reset the call's
recurrent state: the model's memory of earlier speech would otherwise make the first window after the
silence look like speech. (The model itself would have decayed to ~0 over a few such windows.) Those that
lead a stream are settled inline, before any batching; all-zero ones (known from `VadStream.append`) are
skipped without copying a sample. In a batch, the quiet test runs once over all its windows, and each
window's model input is one copy (`VadStream.take_window`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import numpy as np

from voice.audio.vad import DEFAULT_MODEL_RATE, SileroVadModel, VadStream, vad_format

DEFAULT_SILENCE_FLOOR = 0.0015
_SILENT_STATE = SileroVadModel.initial_state(1)  # shared read-only: streams replace, never mutate, state


@dataclass(slots=True)
class _Request:
    stream: VadStream
    done: asyncio.Future[list[float]]
    probabilities: list[float] = field(default_factory=list)


class VadBatcher:
    def __init__(
        self,
        model: SileroVadModel,
        *,
        sample_rate: int = DEFAULT_MODEL_RATE,
        max_wait_s: float = 0.005,
        max_batch: int = 64,
        silence_floor: float = DEFAULT_SILENCE_FLOOR,
    ) -> None:
        self.model = model
        self.format = vad_format(sample_rate)
        """The model's rate and window: every stream of this batcher runs at it (`stream`)."""
        self._max_wait_s = max_wait_s
        self._max_batch = max_batch
        self._silence_floor = np.float32(silence_floor)
        self._skip_digital_silence = silence_floor > 0  # a floor of 0 runs the model on every window
        self._pending: list[_Request] = []
        self._timer: asyncio.TimerHandle | None = None
        self._windows = np.zeros((max_batch, self.format.input_samples), dtype=np.float32)
        self.windows_run = 0
        """Windows that went through the model (the rest were silence)."""
        self.windows_skipped = 0
        self.batches_run = 0

    def accepts(self, input_rate: int) -> bool:
        """A stream of this batcher takes audio at `input_rate` as it is (the model's rate or twice it)."""
        return input_rate in (self.format.sample_rate, 2 * self.format.sample_rate)

    def stream(self, input_rate: int) -> VadStream:
        """A new call's stream, at this batcher's rate, for audio at `input_rate` (see `accepts`)."""
        return VadStream(self.model, model_rate=self.format.sample_rate, input_rate=input_rate)

    async def probabilities(self, stream: VadStream) -> list[float]:
        """Speech probability of each complete window `stream` has buffered (oldest first)."""
        probabilities = self.settle_silence(stream)
        if stream.ready_windows == 0:
            return probabilities
        return await self.score(stream, probabilities)

    def settle_silence(self, stream: VadStream) -> list[float]:
        """The leading quiet windows, settled at once (probability 0, state reset), with no
        batch and no wait: a call has at most one request in flight (it awaits each), so no earlier window
        of it is still queued. Whatever `stream` has left (`ready_windows`) needs `score`."""
        probabilities: list[float] = []
        floor = self._silence_floor
        # `next_window_peak` reads an all-zero window as 0.0 without looking at it.
        while stream.ready_windows and stream.next_window_peak() < floor:
            stream.skip_window()  # nothing to copy: its samples stay in the buffer as the next context
            stream.state = _SILENT_STATE
            probabilities.append(0.0)
            self.windows_skipped += 1
        return probabilities

    async def score(self, stream: VadStream, probabilities: list[float]) -> list[float]:
        """`probabilities` (the windows settled before) followed by those of the windows `stream` has
        buffered, scored in the next shared run."""
        if stream.format != self.format:
            raise ValueError(
                f"a {stream.format.sample_rate} Hz stream in a {self.format.sample_rate} Hz batcher"
            )
        loop = asyncio.get_running_loop()
        request = _Request(stream, loop.create_future(), probabilities)
        self._pending.append(request)
        if len(self._pending) >= self._max_batch:
            self._run_pending()
        elif self._timer is None:
            self._timer = loop.call_later(self._max_wait_s, self._run_pending)
        return await request.done

    def _run_pending(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        requests, self._pending = self._pending, []
        try:
            waiting = [r for r in requests if not r.done.done()]  # a hung-up call's future may be cancelled
            while waiting:
                self._run_one_window_each(waiting)
                waiting = [r for r in waiting if r.stream.ready_windows > 0]
        except Exception as exc:  # never strand a call waiting on its future
            for request in requests:
                if not request.done.done():
                    request.done.set_exception(exc)
            return
        for request in requests:
            if not request.done.done():
                request.done.set_result(request.probabilities)

    def _run_one_window_each(self, requests: list[_Request]) -> None:
        for start in range(0, len(requests), self._max_batch):
            self._run_batch(requests[start : start + self._max_batch])

    def _run_batch(self, requests: list[_Request]) -> None:
        """The next window of each request's stream: quiet ones settled, the rest through one model run."""
        windows = self._windows
        run: list[_Request] = []
        for request in requests:
            stream = request.stream
            if self._skip_digital_silence and stream.next_window_is_digital_silence:
                stream.skip_window()
                self._settle_quiet(request)
            else:
                stream.take_window(out=windows[len(run)])
                run.append(request)
        if not run:
            return
        batch = windows[: len(run)]
        # Quiet but not all-zero windows (under `silence_floor`), found for the whole batch at once.
        quiet = np.flatnonzero(np.abs(batch[:, self.format.context :]).max(axis=1) < self._silence_floor)
        if quiet.size:
            for i in quiet.tolist():
                self._settle_quiet(run[i])
            loud = np.setdiff1d(np.arange(len(run)), quiet)
            run = [run[i] for i in loud.tolist()]
            if not run:
                return
            batch = batch[loud]
        states = np.concatenate([request.stream.state for request in run], axis=1)
        probabilities, new_states = self.model.infer(batch, states)
        for j, request in enumerate(run):
            # A view of the run's output: streams replace their state, never write into it.
            request.stream.state = new_states[:, j : j + 1, :]
            request.probabilities.append(float(probabilities[j]))
        self.windows_run += len(run)
        self.batches_run += 1

    def _settle_quiet(self, request: _Request) -> None:
        request.probabilities.append(0.0)
        request.stream.state = _SILENT_STATE
        self.windows_skipped += 1
