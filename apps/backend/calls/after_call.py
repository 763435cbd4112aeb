"""What a call leaves to do once its media has ended: store its recording, write its summary. Never on the
call's audio path: tasks owned here, let finish (bounded) at shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from apps.backend.recordings.service import RecordingService
from apps.backend.recordings.worker import CallRecording
from apps.backend.summaries.service import SummaryService
from registries.scenariostore.schema import ScenarioSpec


class AfterCallWork:
    def __init__(self, recordings: RecordingService | None, summaries: SummaryService | None) -> None:
        self.recordings = recordings
        self.summaries = summaries
        self._tasks: set[asyncio.Task[object]] = set()

    def recording(self, call_id: str, scenario: ScenarioSpec) -> CallRecording | None:
        """The call's recording, started now; None when recording is off (the service or the scenario)."""
        return self.recordings.begin(call_id, scenario) if self.recordings is not None else None

    def call_ended(self, call_id: str, recording: CallRecording | None) -> None:
        if recording is not None and self.recordings is not None:
            self._run(self.recordings.finish(recording), f"recording:{call_id}")
        if self.summaries is not None:
            self._run(self.summaries.summarise(call_id), f"summary:{call_id}")

    def _run(self, work: Coroutine[Any, Any, object], name: str) -> None:
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self, timeout_s: float = 10.0) -> None:
        """On shutdown: let post-call work finish (bounded), then cancel what is left."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=timeout_s)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
