"""Guidance engines behind one interface: the embedded engine (checklist matching, tone lexicon, coaching rules;
offline, deterministic) and, when configured, a chat model with structured output (`openai_engine.py`) that
falls back to the embedded one when it fails."""

from __future__ import annotations

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
    """Pure and fast (regular expressions over at most `MAX_TURNS` turns)."""
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


class EmbeddedGuidance:
    name = "embedded"

    async def guide(self, scenario: ScenarioSpec, turns: Sequence[GuidanceTurn]) -> GuidanceReport:
        return embedded_report(scenario, turns)

    async def aclose(self) -> None:
        """Nothing to release (the same shape as the model engine's)."""
