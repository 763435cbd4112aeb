"""Guidance on this service: the engine the settings choose (one per replica, owned and closed by the
runtime), and a call's live guidance publishing `guidance` events on its events channel (the phone call's and
the browser session's events sockets)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from apps.backend.calls.live_events import CallEventPublisher
from apps.backend.settings import Settings
from registries.scenariostore.schema import ScenarioSpec
from voice.guidance.engine import EmbeddedGuidance, GuidanceEngine
from voice.guidance.live import LiveGuidance

if TYPE_CHECKING:  # the openai package costs ~0.35 s of start-up: imported only when configured
    from voice.guidance.openai_engine import OpenAIGuidance

log = logging.getLogger(__name__)


def guidance_engine(settings: Settings) -> EmbeddedGuidance | OpenAIGuidance:
    """Azure OpenAI with structured output when configured (and not turned off), else the embedded engine.
    The caller owns the result: an `OpenAIGuidance` holds a connection pool to `aclose`."""
    deployment = settings.guidance_azure_openai_deployment or settings.azure_openai_deployment
    key = settings.azure_openai_api_key
    if settings.guidance_engine == "auto" and settings.azure_openai_endpoint and key and deployment:
        from voice.guidance.openai_engine import OpenAIGuidance

        engine = OpenAIGuidance.azure(
            endpoint=settings.azure_openai_endpoint,
            api_key=key.get_secret_value(),
            api_version=settings.azure_openai_api_version,
            deployment=deployment,
            timeout_s=settings.guidance_timeout_seconds,
        )
        log.info("guidance: azure openai, embedded fallback", extra={"deployment": deployment})
        return engine
    return EmbeddedGuidance()


def live_guidance(
    settings: Settings,
    scenario: ScenarioSpec,
    call_id: str,
    events: CallEventPublisher,
    engine: GuidanceEngine,
) -> LiveGuidance | None:
    """The call's live guidance, or None when it is off or the scenario declares none."""
    if not settings.guidance_enabled or scenario.guidance is None:
        return None
    return LiveGuidance(
        scenario,
        engine,
        lambda report: events.guidance(call_id, report),
        min_interval_s=settings.guidance_interval_seconds,
    )
