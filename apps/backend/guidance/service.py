"""Guidance on this service: the engine the settings choose, and a call's live guidance publishing `guidance`
events on its events channel (the phone call's and the browser session's events sockets)."""

from __future__ import annotations

from apps.backend.calls.live_events import CallEventPublisher
from apps.backend.settings import Settings
from registries.scenariostore.schema import ScenarioSpec
from voice.guidance.engine import EmbeddedGuidance, GuidanceEngine
from voice.guidance.live import LiveGuidance


def guidance_engine(settings: Settings) -> GuidanceEngine:
    return EmbeddedGuidance()


def live_guidance(
    settings: Settings, scenario: ScenarioSpec, call_id: str, events: CallEventPublisher
) -> LiveGuidance | None:
    """The call's live guidance, or None when it is off or the scenario declares none."""
    if not settings.guidance_enabled or scenario.guidance is None:
        return None
    return LiveGuidance(
        scenario,
        guidance_engine(settings),
        lambda report: events.guidance(call_id, report),
        min_interval_s=settings.guidance_interval_seconds,
    )
