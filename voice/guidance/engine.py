"""Guidance engines behind one interface: the embedded engine (checklist matching, tone reader, coaching rules;
offline, deterministic) and, when configured, a chat model with structured output (`openai_engine.py`) that
falls back to the embedded one when it fails."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

from registries.scenariostore.schema import ScenarioSpec
from voice.guidance.checklist import checklist_status
from voice.guidance.coaching import coaching_lines
from voice.guidance.models import MAX_TURNS, GuidanceReport, GuidanceTurn
from voice.guidance.tone import classify_tone


class GuidanceEngine(Protocol):
    name: str

    async def guide(self, scenario: ScenarioSpec, turns: Sequence[GuidanceTurn]) -> GuidanceReport: ...


def embedded_report(scenario: ScenarioSpec, turns: Sequence[GuidanceTurn]) -> GuidanceReport:
    """Pure but blocking: regular expressions over at most `MAX_TURNS` turns and the tone reader's sentence
    embeddings (~7 ms per new caller turn; ~2 s the first time in a process). Off the loop: `aembedded_report`."""
    recent = list(turns[-MAX_TURNS:])
    items = scenario.guidance.checklist if scenario.guidance is not None else ()
    checklist = checklist_status(items, recent)
    tone = classify_tone([t.text for t in recent if t.speaker == "caller"])
    return GuidanceReport(
        scenario=scenario.name,
        engine="embedded",
        checklist=tuple(checklist),
        tone=tone,
        coaching=coaching_lines(tone, checklist),
        turns_read=len(recent),
    )


async def aembedded_report(scenario: ScenarioSpec, turns: Sequence[GuidanceTurn]) -> GuidanceReport:
    """`embedded_report` in a worker thread, so the event loop (the calls' audio and turns) never waits on it."""
    return await asyncio.to_thread(embedded_report, scenario, list(turns))


class EmbeddedGuidance:
    name = "embedded"

    async def guide(self, scenario: ScenarioSpec, turns: Sequence[GuidanceTurn]) -> GuidanceReport:
        return await aembedded_report(scenario, turns)

    async def aclose(self) -> None:
        """Nothing to release (the same shape as the model engine's)."""
