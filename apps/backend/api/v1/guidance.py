"""Stateless guidance: a transcript (list of turns) and a scenario in; checklist status, the caller's tone and
coaching lines out. The live counterpart is the `guidance` event on a call's events socket."""

from __future__ import annotations

import logging

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, ConfigDict, Field

from apps.backend.api.deps import AdminDep, RuntimeDep
from voice.guidance.models import MAX_TURNS, GuidanceReport, GuidanceTurn

log = logging.getLogger(__name__)
router = APIRouter(prefix="/guidance", tags=["guidance"])


class GuidanceRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scenario: str = Field(max_length=64, description="A scenario of the live registry, e.g. banking.")
    turns: list[GuidanceTurn] = Field(
        description=f"The transcript so far, oldest first (at most {MAX_TURNS})."
    )


@router.post("", dependencies=[AdminDep])
async def guidance(body: GuidanceRequest, runtime: RuntimeDep) -> GuidanceReport:
    """Guidance for a transcript snippet: the scenario's checklist status, the caller's tone, coaching."""
    if len(body.turns) > MAX_TURNS:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"transcript too long: {len(body.turns)} turns, at most {MAX_TURNS}; send the latest {MAX_TURNS}",
        )
    scenario = runtime.registry.current.scenarios.get(body.scenario)
    if scenario is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown scenario {body.scenario!r}")
    report: GuidanceReport = await runtime.guidance.guide(scenario, body.turns)
    return report
