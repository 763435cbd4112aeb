"""Live guidance for one call: fed the call's transcript turns as they are recorded, it re-reads the transcript
after each caller turn and each agent turn that ran a tool (a tool settles checklist items: without it the
panel would show the intake missing after the call's last word), at most once every `min_interval_s`, in a task of its own (never on the audio or turn
path: `feed` only appends), and hands each report to `publish`. A failing engine costs a report, never the call.
The owner (the call) must `aclose` it when the call ends."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from registries.scenariostore.schema import ScenarioSpec
from voice.guidance.engine import GuidanceEngine
from voice.guidance.models import MAX_TURN_CHARS, MAX_TURNS, GuidanceReport, GuidanceTurn
from voice.transcript import TranscriptTurn

log = logging.getLogger(__name__)


def guidance_turn(turn: TranscriptTurn) -> GuidanceTurn:
    return GuidanceTurn(
        speaker=turn.speaker,
        text=turn.text[:MAX_TURN_CHARS],
        seq=turn.seq,
        tools=tuple(c.name for c in turn.tool_calls if c.ok)[:20],
    )


class LiveGuidance:
    def __init__(
        self,
        scenario: ScenarioSpec,
        engine: GuidanceEngine,
        publish: Callable[[GuidanceReport], None],
        *,
        min_interval_s: float = 3.0,
    ) -> None:
        self._scenario = scenario
        self._engine = engine
        self._publish = publish
        self._min_interval_s = min_interval_s
        self._turns: list[GuidanceTurn] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self.reports = 0
        self.failures = 0

    def feed(self, turn: TranscriptTurn) -> None:
        """Take a recorded turn (never blocks). A caller turn, or an agent turn with tools, asks for a report."""
        if (
            self._closed or turn.kind == "dtmf"
        ):  # keyed digits may be account numbers: not guidance's business
            return
        read = guidance_turn(turn)
        self._turns.append(read)
        del self._turns[:-MAX_TURNS]
        if turn.speaker == "caller" or read.tools:
            self._wake.set()
            if self._task is None:
                self._task = asyncio.get_running_loop().create_task(self._run(), name="live-guidance")

    async def _run(self) -> None:
        last = float("-inf")
        while not self._closed:
            await self._wake.wait()
            wait = last + self._min_interval_s - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)  # turns that arrive meanwhile are read in the same report
            self._wake.clear()
            last = time.monotonic()
            try:
                report = await self._engine.guide(self._scenario, list(self._turns))
            except Exception as exc:
                self.failures += 1
                log.warning("guidance failed", extra={"error_type": type(exc).__name__})
                continue
            self.reports += 1
            self._publish(report)

    def cancel(self) -> None:
        """Stop at once (the call ended); a report being computed is dropped."""
        self._closed = True
        if self._task is not None:
            self._task.cancel()

    async def aclose(self) -> None:
        self.cancel()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
