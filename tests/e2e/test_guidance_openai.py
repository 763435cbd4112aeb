"""Guidance from Azure OpenAI with structured output (the real `openai` SDK pointed at the loopback fake): the
request carries a strict JSON schema built from the scenario's checklist and the transcript; the model's
answer becomes the report, over POST /api/v1/guidance and as the live `guidance` event of a call. When the
model fails or is too slow, the embedded engine answers and the call is untouched."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from apps.acs_simulator.caller_audio import Say, WaitForAgent
from apps.acs_simulator.server import AcsSimulator
from tests.e2e.calls import BANKING, follow_events, newest_call_id, transcript_of
from tests.fakes.openai_server import ErrorTurn, FakeOpenAIServer, TextTurn
from tests.support import running_backend
from voice.guidance.tone import classify_tone

OPENAI_KEY = "test-openai-key-0123456789"
AGENT_REPLY = "Sure, I can help with that."
BANKING_IDS = ["identity_verified", "reason_captured", "next_steps_stated", "resolution_confirmed"]
SNIPPET = {
    "scenario": "banking",
    "turns": [
        {"speaker": "caller", "text": "what's my balance", "seq": 1},
        {
            "speaker": "agent",
            "text": "you're verified",
            "seq": 2,
            "tools": ["verify_identity", "get_balance"],
        },
        {"speaker": "caller", "text": "i already told you which account", "seq": 3},
    ],
}


def model_answer(coaching: list[str] | None = None) -> str:
    return json.dumps(
        {
            "checklist": {
                "identity_verified": {"status": "done", "turn": 2},
                "reason_captured": {"status": "done", "turn": 1},
                "next_steps_stated": {"status": "missing", "turn": None},
                "resolution_confirmed": {"status": "not_applicable", "turn": 3},
            },
            "tone": {"tone": "frustrated", "confidence": 0.83},
            "coaching": coaching
            if coaching is not None
            else ["Acknowledge the repeat.", "State next steps."],
        }
    )


@pytest.fixture
async def openai_fake() -> AsyncIterator[FakeOpenAIServer]:
    # Calls' own (streamed) replies come from the default turn; guidance's answers are scripted per test.
    async with FakeOpenAIServer(api_key=OPENAI_KEY, default_turn=TextTurn(AGENT_REPLY)) as server:
        yield server


def on_azure(openai_fake: FakeOpenAIServer, **more: Any) -> dict[str, Any]:
    return {
        "azure_openai_endpoint": openai_fake.azure_endpoint,
        "azure_openai_api_key": OPENAI_KEY,
        "azure_openai_deployment": "gpt-4o-mini",
        "guidance_azure_openai_deployment": "gpt-4o-guidance",
        **more,
    }


async def test_guidance_api_asks_the_model_with_the_checklist_schema(
    simulator: AcsSimulator, openai_fake: FakeOpenAIServer
) -> None:
    openai_fake.script_completions(TextTurn(model_answer()))
    async with running_backend(simulator, **on_azure(openai_fake)) as backend, backend.admin() as admin:
        response = await admin.post("/api/v1/guidance", json=SNIPPET)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["engine"] == "azure-openai" and report["turns_read"] == 3
    assert [(i["id"], i["status"], i["turn"]) for i in report["checklist"]] == [
        ("identity_verified", "done", 2),
        ("reason_captured", "done", 1),
        ("next_steps_stated", "missing", None),
        ("resolution_confirmed", "not_applicable", 3),
    ]
    assert report["tone"] == {"tone": "frustrated", "confidence": 0.83}
    assert report["coaching"] == ["Acknowledge the repeat.", "State next steps."]

    request = openai_fake.last
    assert request.path == "/openai/deployments/gpt-4o-guidance/chat/completions"
    assert not request.raw.get("stream")  # one whole answer, not a stream
    fmt = request.raw["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    schema = fmt["json_schema"]["schema"]
    checklist = schema["properties"]["checklist"]
    assert checklist["required"] == BANKING_IDS and checklist["additionalProperties"] is False
    assert checklist["properties"]["identity_verified"]["properties"]["status"]["enum"] == [
        "done",
        "missing",
        "not_applicable",
    ]
    assert schema["properties"]["tone"]["properties"]["tone"]["enum"] == [
        "calm",
        "confused",
        "frustrated",
        "angry",
        "distressed",
    ]
    system, user = request.raw["messages"]
    assert "identity_verified: Identity verified" in system["content"]
    assert "2 agent [verify_identity, get_balance]: you're verified" in user["content"]
    assert "3 caller: i already told you which account" in user["content"]


async def test_the_embedded_engine_answers_when_the_model_fails_or_is_slow(
    simulator: AcsSimulator, openai_fake: FakeOpenAIServer
) -> None:
    openai_fake.script_completions(
        ErrorTurn(500, "model overloaded"),
        TextTurn(model_answer(), stall_after=0),  # never answers: the guidance timeout fires
        TextTurn('{"checklist": {}, "tone": {"tone": "calm", "confidence": 1}, "coaching": []}'),
        TextTurn(model_answer(coaching=[])),
    )
    settings = on_azure(openai_fake, guidance_timeout_seconds=0.5)
    async with running_backend(simulator, **settings) as backend, backend.admin() as admin:
        reports = [(await admin.post("/api/v1/guidance", json=SNIPPET)).json() for _ in range(4)]
    assert len(openai_fake.requests) == 4
    for report in reports[:3]:  # failed, timed out, left out the checklist
        assert report["engine"] == "embedded", report
        assert report["tone"]["tone"] == "frustrated"  # "already told": the embedded lexicon
        assert [i["status"] for i in report["checklist"]] == ["done", "done", "missing", "missing"]
    # No coaching from the model: the rules coach from its tone and checklist.
    assert reports[3]["engine"] == "azure-openai"
    assert reports[3]["coaching"] == [
        "The caller is frustrated: don't ask again for what they already said.",
        "Next on the checklist: Next steps stated.",
    ]


@pytest.mark.parametrize("model_fails", [False, True], ids=["model", "model-fails"])
async def test_a_live_call_gets_guidance_events_from_the_model(
    simulator: AcsSimulator, openai_fake: FakeOpenAIServer, model_fails: bool
) -> None:
    openai_fake.script_completions(
        ErrorTurn(503, "unavailable") if model_fails else TextTurn(model_answer(), first_delay_s=0.2)
    )
    script = [WaitForAgent(), Say("what is my checking balance"), WaitForAgent()]
    settings = on_azure(openai_fake, guidance_interval_seconds=0.5)
    async with running_backend(simulator, **settings) as backend:
        call = asyncio.create_task(
            simulator.place_call(backend.url, script, to_number=BANKING, max_duration_s=40)
        )
        try:
            call_id = await newest_call_id(backend)
            events = await asyncio.wait_for(follow_events(backend, call_id), timeout=60)
            result = await call
        finally:
            call.cancel()
        transcript = await transcript_of(backend, result.call_connection_id)
        async with backend.admin() as admin:
            cost = (await admin.get(f"/api/v1/calls/{call_id}/cost")).json()
    assert result.script_error is None and result.hung_up_by == "caller", result.end_reason
    # What guidance asked the model is part of what the call cost (the fake reports 1 + 1 tokens).
    guidance_lines = [line for line in cost["lines"] if line["agent"] == "guidance"]
    if model_fails:
        assert guidance_lines == []
    else:
        assert [
            (line["model"], line["usage"]["requests"], line["usage"]["input_tokens"])
            for line in guidance_lines
        ] == [("gpt-4o-guidance", 1, 1)]
    # The call ran on the model as usual: guidance (failing or not) did not touch its turns.
    assert [t.text for t in transcript.turns if t.kind == "reply"] == [AGENT_REPLY]
    guidance = [e["guidance"] for e in events if e["type"] == "guidance"]
    assert len(guidance) == 1, [e["type"] for e in events]
    report = guidance[0]
    guidance_requests = [r for r in openai_fake.requests if r.deployment == "gpt-4o-guidance"]
    assert len(guidance_requests) == 1
    assert "caller: " in guidance_requests[0].raw["messages"][1]["content"]
    if model_fails:
        assert report["engine"] == "embedded"
        # The embedded engine's own reading of the words as heard (its accuracy is measured on labelled sets in
        # tests/unit/guidance; what the recogniser makes of the line varies with the machine's load).
        heard = [t.text for t in transcript.turns if t.speaker == "caller"]
        expected = await asyncio.to_thread(classify_tone, heard)
        assert report["tone"]["tone"] == expected.tone, heard
        assert report["tone"]["confidence"] == pytest.approx(expected.confidence, abs=0.02), heard
    else:
        assert report["engine"] == "azure-openai"
        assert report["tone"] == {"tone": "frustrated", "confidence": 0.83}
        # The model's turn numbers are kept only where they name a turn of this call.
        statuses = {i["id"]: i["status"] for i in report["checklist"]}
        assert statuses == {
            "identity_verified": "done",
            "reason_captured": "done",
            "next_steps_stated": "missing",
            "resolution_confirmed": "not_applicable",
        }
        assert report["coaching"] == ["Acknowledge the repeat.", "State next steps."]
