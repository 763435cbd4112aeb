"""Silero VAD for every call of the process in shared ONNX runs.

One inference per 32 ms window per call costs ~0.25 ms; one run over a batch costs ~0.08 ms per window
(measured on this machine, batches of 12+). So calls hand their ready windows here and await the result:
the first window of a batch arms a `max_wait_s` timer (5 ms: batches of ~5-15 windows at 50-100 calls,
where a run costs about half the per-window price of single runs, for at most 5 ms on each frame), and the batch runs when the timer fires or
`max_batch` windows are waiting, whichever is first. A call's consecutive windows go into consecutive
runs, since each depends on the recurrent state the previous one left.

Windows of digital silence (peak below `silence_floor`, about -56 dBFS: what ACS sends while the caller
is quiet, far below any speech on a phone line) get probability 0 without running the model, and reset the
call's recurrent state (settled inline, before any batching, when they lead the stream): the model's memory of earlier speech would otherwise make the first window after
the silence look like speech. (The model itself would have decayed to ~0 over a few such windows.)
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import numpy as np

from voice.audio.vad import INPUT_SAMPLES, STATE_SIZE, SileroVadModel, VadStream

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
        max_wait_s: float = 0.005,
        max_batch: int = 64,
        silence_floor: float = DEFAULT_SILENCE_FLOOR,
    ) -> None:
        self.model = model
        self._max_wait_s = max_wait_s
        self._max_batch = max_batch
        self._silence_floor = np.float32(silence_floor)
        self._pending: list[_Request] = []
        self._timer: asyncio.TimerHandle | None = None
        self._windows = np.zeros((max_batch, INPUT_SAMPLES), dtype=np.float32)
        self.windows_run = 0
        """Windows that went through the model (the rest were silence)."""
        self.windows_skipped = 0
        self.batches_run = 0

    async def probabilities(self, stream: VadStream) -> list[float]:
        """Speech probability of each complete window `stream` has buffered (oldest first)."""
        probabilities = self.settle_silence(stream)
        if stream.ready_windows == 0:
            return probabilities
        return await self.score(stream, probabilities)

    def settle_silence(self, stream: VadStream) -> list[float]:
        """The leading windows of digital silence, settled at once (probability 0, state reset), with no
        batch and no wait: a call has at most one request in flight (it awaits each), so no earlier window
        of it is still queued. Whatever `stream` has left (`ready_windows`) needs `score`."""
        probabilities: list[float] = []
        floor = self._silence_floor
        while stream.ready_windows and stream.next_window_peak() < floor:
            stream.take_window()
            stream.state = _SILENT_STATE
            probabilities.append(0.0)
            self.windows_skipped += 1
        return probabilities

    async def score(self, stream: VadStream, probabilities: list[float]) -> list[float]:
        """`probabilities` (the windows settled before) followed by those of the windows `stream` has
        buffered, scored in the next shared run."""
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
        windows = self._windows
        voiced: list[int] = []
        floor = self._silence_floor
        for i, request in enumerate(requests):
            stream = request.stream
            silent = stream.next_window_peak() < floor  # the peak of the window taken just below
            stream.take_window(out=windows[i])
            if silent:
                request.probabilities.append(0.0)
                stream.state = _SILENT_STATE
            else:
                voiced.append(i)
        self.windows_skipped += len(requests) - len(voiced)
        if not voiced:
            return
        batch = windows[voiced]
        states = np.empty((2, len(voiced), STATE_SIZE), dtype=np.float32)
        for j, i in enumerate(voiced):
            states[:, j, :] = requests[i].stream.state[:, 0, :]
        probabilities, new_states = self.model.infer(batch, states)
        for j, i in enumerate(voiced):
            stream = requests[i].stream
            stream.state = new_states[:, j : j + 1, :].copy()
            requests[i].probabilities.append(float(probabilities[j]))
        self.windows_run += len(voiced)
        self.batches_run += 1
