"""The eval suites on the Azure OpenAI path: `switchboard eval --text` with AZURE_OPENAI_* set runs the calls on
the real `openai` SDK against the loopback OpenAI fake, with the same agents, tools and judge as the local brain.

The fake answers from a script, so this proves the path (requests with the agent's tools, tool calls run,
results fed back, the reply judged), not that a model understands callers: that needs a real deployment
(`AZURE_OPENAI_ENDPOINT=... switchboard eval --text`)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from apps.evals.scripts import find_suites
from apps.evals.text_run import configured_brain, run_text_suites
from tests.fakes.openai_server import FakeOpenAIServer, ScriptedCall, TextTurn, ToolCallsTurn

KEY = "test-openai-key-for-evals"


@pytest.fixture
async def openai_fake() -> AsyncIterator[FakeOpenAIServer]:
    async with FakeOpenAIServer(api_key=KEY) as server:
        yield server


async def test_a_scripted_call_is_run_and_judged_on_the_azure_openai_path(
    openai_fake: FakeOpenAIServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", openai_fake.azure_endpoint)
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", KEY)
    monkeypatch.setenv("AZURE_OPENAI_DEPLOYMENT", "gpt-4o-mini")
    openai_fake.script(
        TextTurn("Sure, I can check that. Can I have your name and the last four digits of the account?"),
        ToolCallsTurn(
            [ScriptedCall("verify_identity", {"full_name": "Jordan Rivera", "account_last4": "4821"})]
        ),
        ToolCallsTurn([ScriptedCall("get_balance", {"account_type": "checking"})]),
        TextTurn("Thanks Jordan. Your checking balance is 2,450 dollars and 75 cents."),
    )
    async with configured_brain() as llm:
        result = await run_text_suites(
            find_suites(["banking"]), only=lambda c: c.id == "balance-checking-plain", llm=llm
        )
    [run] = result.runs
    assert run.verdict.passed, run.verdict.failures
    assert openai_fake.pending_turns == 0
    bodies = [r.body.model_dump() for r in openai_fake.requests if r.body is not None]
    assert len(bodies) == 4
    offered = {tool["function"]["name"] for tool in bodies[0]["tools"]}
    assert {"verify_identity", "get_balance", "handoff_card_services"} <= offered
    # The tool's result went back to the model as a tool message after the assistant's call.
    last = bodies[-1]["messages"]
    assert [m["role"] for m in last][-2:] == ["assistant", "tool"]
    assert json.loads(last[-1]["content"])["balance_cents"] == 245075  # the demo data, read by the real tool
