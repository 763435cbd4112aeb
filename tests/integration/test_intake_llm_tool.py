"""The LLM path of an intake form: the tool generated from the triage form is offered to Azure OpenAI (through
the real `openai` SDK, against the loopback chat-completions fake) with the JSON schema built from the form, and
the model's structured call validates and records the intake through the agent's catalog."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from registries.loader import load_registry
from registries.toolstore.context import ToolContext
from tests.fakes.openai_server import FakeOpenAIServer, ScriptedCall, ToolCallsTurn
from voice.llm.base import ChatRequest, ToolCall
from voice.llm.openai_chat import OpenAIChatModel
from voice.llm.openai_deadlines import ChatTimeouts

API_KEY = "sk-test-0123456789abcdef"
RESULT = {
    "chief_complaint": "a bad headache",
    "onset": "2026-11-19",
    "duration": "2 days",
    "severity": 7,
    "associated_symptoms": ["nausea"],
    "medications": ["ibuprofen"],
    "allergies": [],
}


@pytest.fixture
async def server() -> AsyncIterator[FakeOpenAIServer]:
    async with FakeOpenAIServer(api_key=API_KEY) as fake:
        yield fake


async def test_the_llm_gets_the_form_schema_and_its_call_records_the_intake(server: FakeOpenAIServer) -> None:
    snapshot = load_registry()
    tools = snapshot.tools_for("triage_nurse", "triage")
    model = OpenAIChatModel.azure(
        endpoint=server.azure_endpoint,
        api_key=API_KEY,
        api_version="2024-10-21",
        deployment="gpt-4o-mini",
        timeouts=ChatTimeouts(),
    )
    server.script(ToolCallsTurn([ScriptedCall("submit_triage_intake", RESULT)]))
    request = ChatRequest(
        messages=[{"role": "system", "content": "triage"}, {"role": "user", "content": "yes that's right"}],
        tools=tools,
        agent="triage_nurse",
        call_id="call-1",
    )
    try:
        events = [event async for event in model.stream(request)]
    finally:
        await model.aclose()
    sent = server.last.raw["tools"]
    offered = {tool["function"]["name"]: tool["function"]["parameters"] for tool in sent}
    assert offered["submit_triage_intake"] == snapshot.tools["submit_triage_intake"].parameters
    assert offered["submit_triage_intake"]["properties"]["severity"]["maximum"] == 10
    [call] = [e for e in events if isinstance(e, ToolCall)]
    catalog = snapshot.catalog_for("triage_nurse", "triage")
    ctx = ToolContext(call_id="call-1", caller="+1555", scenario="triage", agent="triage_nurse")
    result = await catalog.invoke(call.name, call.arguments, ctx)
    assert result.ok, result.error
    assert result.output == {"intake_complete": True, "form": "triage", "result": RESULT}
    # A call that breaks the form's rules is refused with a reason the model can act on.
    bad = await catalog.invoke(call.name, json.dumps({**RESULT, "severity": 12}), ctx)
    assert not bad.ok and bad.error is not None and "severity" in bad.error.message
