"""POST /api/v1/guidance: a transcript snippet and a scenario in, checklist status, tone and coaching out;
admin only; bad input is a clear 4xx."""

from __future__ import annotations

import httpx

from apps.acs_simulator.server import AcsSimulator
from tests.support import Backend


def turns(n: int) -> list[dict[str, object]]:
    return [{"speaker": "caller", "text": "hello"} for _ in range(n)]


async def test_guidance_for_a_snippet(simulator: AcsSimulator, backend: Backend) -> None:
    body = {
        "scenario": "banking",
        "turns": [
            {"speaker": "caller", "text": "what's my balance"},
            {"speaker": "agent", "text": "you're verified", "tools": ["verify_identity", "get_balance"]},
            {"speaker": "caller", "text": "i don't understand which account you mean"},
        ],
    }
    async with backend.admin() as admin:
        response = await admin.post("/api/v1/guidance", json=body)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["engine"] == "embedded" and report["scenario"] == "banking" and report["turns_read"] == 3
    status = {item["id"]: (item["status"], item["turn"]) for item in report["checklist"]}
    assert status == {
        "identity_verified": ("done", 1),
        "reason_captured": ("done", 1),
        "next_steps_stated": ("missing", None),
        "resolution_confirmed": ("missing", None),
    }
    assert report["tone"]["tone"] == "confused" and 0 < report["tone"]["confidence"] <= 1
    assert len(report["coaching"]) == 2 and "confused" in report["coaching"][0]


async def test_bad_guidance_requests_get_clear_errors(simulator: AcsSimulator, backend: Backend) -> None:
    async with backend.admin() as admin:
        unknown = await admin.post("/api/v1/guidance", json={"scenario": "bakery", "turns": turns(1)})
        too_long = await admin.post("/api/v1/guidance", json={"scenario": "banking", "turns": turns(201)})
        no_text = await admin.post(
            "/api/v1/guidance", json={"scenario": "banking", "turns": [{"speaker": "caller"}]}
        )
        no_speaker = await admin.post(
            "/api/v1/guidance", json={"scenario": "banking", "turns": [{"text": "hello"}]}
        )
        long_turn = await admin.post(
            "/api/v1/guidance",
            json={"scenario": "banking", "turns": [{"speaker": "caller", "text": "word " * 401}]},
        )
        bad_speaker = await admin.post(
            "/api/v1/guidance", json={"scenario": "banking", "turns": [{"speaker": "robot", "text": "hi"}]}
        )
    assert unknown.status_code == 404 and "unknown scenario 'bakery'" in unknown.json()["detail"]
    assert too_long.status_code == 422 and "at most 200" in too_long.json()["detail"]
    assert no_text.status_code == 422 and no_text.json()["detail"][0]["loc"][-1] == "text"
    assert no_speaker.status_code == 422 and no_speaker.json()["detail"][0]["loc"][-1] == "speaker"
    assert long_turn.status_code == 422 and "at most 2000 characters" in long_turn.text
    assert bad_speaker.status_code == 422
    async with httpx.AsyncClient(base_url=backend.url) as anonymous:
        refused = await anonymous.post("/api/v1/guidance", json={"scenario": "banking", "turns": turns(1)})
    assert refused.status_code == 401
