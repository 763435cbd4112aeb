"""One call's semantic end-of-turn judge: the turn's audio for the end-of-turn model, its score, and the words.

The judge keeps the audio of the caller's current turn (from half a second before its onset, at most the
model's 8 s window) only while the caller holds the floor, so an idle call holds no more than the pre-roll.
When the tracker reports a pause (`TurnPaused`) it asks the shared model for a score in the background; the
tracker reads `verdict()` at every window of the pause, with the score once it is in. If the caller goes on,
the score is dropped (the next pause scores the longer turn). Without a model the words alone decide.

With `words_pending` (a cascade that starts its reply on the likely end of turn, before the turn ends) the
score waits for the words: that reply cannot be heard before the recogniser's words are in, and once they
are, words that finish or leave open the turn decide it whatever the model says (`turn_end.verdict`). So the
model runs only for a pause whose words are in and undecided; a model run costs tens of ms of a core
(about 30 on a 2-core Xeon), which the calls' frames need.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable

from voice.audio.turn_batcher import TurnScorer
from voice.audio.turn_end import ScoreThresholds, TurnSignals, Verdict, verdict
from voice.audio.turn_model import MAX_SECONDS

PREROLL_MS = 500
DEFAULT_THRESHOLDS = ScoreThresholds()


class TurnJudge:
    def __init__(
        self,
        scorer: TurnScorer | None,
        *,
        words_unfinished: Callable[[], bool],
        words_complete: Callable[[], bool],
        words_end_in_number: Callable[[], bool] = lambda: False,
        words_pending: Callable[[], bool] | None = None,
        words_maybe_unfinished: Callable[[], bool] = lambda: False,
        thresholds: ScoreThresholds = DEFAULT_THRESHOLDS,
    ) -> None:
        self._scorer = scorer
        self._words_pending = words_pending
        self._words_maybe_unfinished = words_maybe_unfinished
        self._thresholds = thresholds
        self._words_unfinished = words_unfinished
        self._words_complete = words_complete
        self._words_end_in_number = words_end_in_number
        self._sample_rate = 16000
        self._frames: deque[bytes] = deque()
        self._bytes = 0
        self._in_turn = False
        self._kept = self._limit()  # bytes of audio kept: the pre-roll, or the model's window in a turn
        self._task: asyncio.Task[float | None] | None = None
        self._pausing = False  # a pause within the turn, not yet ended or gone on from
        self.last_score: float | None = None
        """The latest score the model gave this call (for logs and tests)."""

    def open(self, sample_rate: int) -> None:
        self._sample_rate = sample_rate
        self._kept = self._limit()

    def _limit(self) -> int:
        seconds = MAX_SECONDS if self._in_turn else PREROLL_MS / 1000
        return int(self._sample_rate * 2 * seconds)

    def hear(self, pcm: bytes) -> None:
        if self._scorer is None:
            return
        frames = self._frames
        frames.append(pcm)
        self._bytes += len(pcm)
        limit = self._kept
        while self._bytes > limit and len(frames) > 1:
            self._bytes -= len(frames.popleft())

    def turn_started(self) -> None:
        self._in_turn = True
        self._kept = self._limit()

    def paused(self) -> None:
        """The caller paused within the turn: score the turn so far (in the background), or, waiting for the
        words, once they are in and undecided."""
        self._drop_score()
        self._pausing = True
        if self._words_pending is None:
            self._start_score()
        else:
            self._score_if_undecided(self._words_unfinished(), self._words_complete())

    def _score_if_undecided(self, unfinished: bool, complete: bool) -> None:
        """Waiting for the words: start the pause's score once they are in and neither finish nor leave open
        the turn."""
        pending = self._words_pending
        if pending is None or not self._pausing or self._task is not None or unfinished or complete:
            return
        if not pending():
            self._start_score()

    def _start_score(self) -> None:
        if self._scorer is None or not self._frames:
            return
        pcm = b"".join(self._frames)
        self._task = asyncio.create_task(self._scorer.score(pcm, self._sample_rate), name="turn-score")

    def resumed(self) -> None:
        self._drop_score()
        self._pausing = False

    def turn_ended(self) -> None:
        self._drop_score()
        self._pausing = False
        self._in_turn = False
        self._kept = limit = self._limit()
        while self._bytes > limit and len(self._frames) > 1:
            self._bytes -= len(self._frames.popleft())

    def _drop_score(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._task = None

    def score(self) -> float | None:
        task = self._task
        if task is None or not task.done() or task.cancelled() or task.exception() is not None:
            return None
        self.last_score = task.result()
        return self.last_score

    def verdict(self) -> Verdict:
        unfinished, complete = self._words_unfinished(), self._words_complete()
        self._score_if_undecided(unfinished, complete)
        return verdict(
            TurnSignals(
                score=self.score(),
                words_unfinished=unfinished,
                words_complete=complete,
                words_end_in_number=self._words_end_in_number(),
                words_maybe_unfinished=self._words_maybe_unfinished(),
            ),
            self._thresholds,
        )

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
