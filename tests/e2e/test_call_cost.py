"""What a phone call cost: a call on the Azure path (Azure Speech STT + TTS and Azure OpenAI, loopback fakes
speaking the real wire protocols) ends with a cost document whose numbers are the fakes' own reported usage,
priced by the shipped table; the live `cost_update` events add up to it and the Prometheus counters agree."""

from __future__ import annotations

import asyncio
import json
import xml.etree.ElementTree as ET
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx

from apps.acs_simulator.server import AcsSimulator
from tests.e2e.test_azure_providers import (
    BALANCE_REPLY,
    SSML_NS,
    VERIFIED_REPLY,
    VERIFY_THEN_BALANCE,
    assert_caller_hung_up,
    azure_settings,
    openai_fake,
    place_call,
    speech,
    transcript,
)
from tests.fakes.azure_speech_service import AzureSpeechService
from tests.fakes.openai_server import FakeOpenAIServer, ScriptedCall, TextTurn, ToolCallsTurn
from tests.support import eventually, running_backend
from voice.usage.prices import load_price_table

__all__ = ["openai_fake", "speech"]  # fixtures

USAGE = [(812, 21, 0), (901, 17, 768), (930, 12, 896), (1024, 25, 896)]
"""(prompt, completion, cached) tokens each scripted reply reports."""


def spoken_characters(speech: AzureSpeechService) -> int:
    total = 0
    for record in speech.syntheses:
        voice = ET.fromstring(record.ssml).find(f"{SSML_NS}voice")
        assert voice is not None
        total += len("".join(voice.itertext()))
    return total


def money(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP))


async def test_a_call_on_azure_costs_what_the_fakes_reported(
    simulator: AcsSimulator, speech: AzureSpeechService, openai_fake: FakeOpenAIServer
) -> None:
    speech.script("my name is Jordan Rivera and my account ends in 4821", "what's my checking balance")
    (p1, c1, _), (p2, c2, k2), (p3, c3, k3), (p4, c4, k4) = USAGE
    openai_fake.script(
        ToolCallsTurn(
            [ScriptedCall("verify_identity", {"full_name": "Jordan Rivera", "account_last4": "4821"})],
            usage=(p1, c1),
        ),
        TextTurn(VERIFIED_REPLY, usage=(p2, c2), cached_tokens=k2),
        ToolCallsTurn(
            [ScriptedCall("get_balance", {"account_type": "checking"})], usage=(p3, c3), cached_tokens=k3
        ),
        TextTurn(BALANCE_REPLY, usage=(p4, c4), cached_tokens=k4),
    )
    async with running_backend(simulator, **azure_settings(speech, openai_fake)) as backend:
        updates: list[dict[str, Any]] = []
        pubsub = backend.runtime.redis.pubsub()
        await pubsub.psubscribe("sb:call-events:*")

        async def collect() -> None:
            async for message in pubsub.listen():
                if message["type"] == "pmessage":
                    event = json.loads(message["data"])
                    if event["type"] == "cost_update":
                        updates.append(event)

        collector = asyncio.create_task(collect())
        try:
            result = await place_call(simulator, backend, *VERIFY_THEN_BALANCE)
            assert_caller_hung_up(result)
            await transcript(backend, result.call_connection_id)
            call_id = await backend.runtime.calls.store.resolve(result.call_connection_id)

            async def final_cost() -> dict[str, Any] | None:
                async with backend.admin() as admin:
                    response = await admin.get(f"/api/v1/calls/{call_id}/cost")
                assert response.status_code == 200, response.text
                body: dict[str, Any] = response.json()
                return body if any(line["provider"] == "acs" for line in body["lines"]) else None

            cost = await eventually(final_cost, timeout=15)
            final_total = cost["total"]

            def all_updates_arrived() -> bool | None:
                # Pub/sub is behind the API's read: wait until the last update carries the final total.
                return (bool(updates) and updates[-1]["total"] == final_total) or None

            await eventually(all_updates_arrived, timeout=5)
            async with httpx.AsyncClient() as http:
                metrics = (await http.get(f"{backend.url}/metrics")).text
            async with backend.admin() as admin:
                daily = (await admin.get("/api/v1/costs/daily")).json()
        finally:
            collector.cancel()
            await pubsub.aclose()

    lines = {(line["provider"], line["model"]): line for line in cost["lines"]}
    assert set(lines) == {
        ("azure-openai", "gpt-4o-mini"),
        ("azure-speech", "neural"),
        ("azure-speech", "stt"),
        ("acs", "pstn"),
    }, lines

    # The LLM: exactly the usage chunks the fake sent (requests, prompt, cached and completion tokens).
    reported = openai_fake.usage_reported
    # The conversation's streamed requests; guidance and the post-call summary ask with `response_format`
    # (unscripted here, so they failed and cost nothing).
    conversation = [
        r for r in openai_fake.requests if not (isinstance(r.raw, dict) and "response_format" in r.raw)
    ]
    assert len(reported) == len(conversation) == 4
    llm = lines[("azure-openai", "gpt-4o-mini")]
    assert llm["agent"] == "concierge"
    assert llm["usage"]["requests"] == 4
    assert llm["usage"]["input_tokens"] == sum(r.prompt_tokens for r in reported) == p1 + p2 + p3 + p4
    assert llm["usage"]["cached_input_tokens"] == sum(r.cached_tokens for r in reported) == k2 + k3 + k4
    assert llm["usage"]["output_tokens"] == sum(r.completion_tokens for r in reported) == c1 + c2 + c3 + c4
    assert llm["usage"]["unknown_events"] == 0

    # TTS: the characters of every text sent for synthesis; STT: the audio streamed to the recogniser.
    tts = lines[("azure-speech", "neural")]["usage"]
    assert tts["tts_characters"] == spoken_characters(speech) > 0
    assert tts["requests"] == len(speech.syntheses)
    stt = lines[("azure-speech", "stt")]["usage"]
    received_s = sum(r.audio_bytes / 2 / (r.sample_rate or 16000) for r in speech.recognitions)
    assert received_s > 1.0
    assert abs(stt["stt_audio_seconds"] - received_s) < 0.25, (stt, received_s)  # the SDK's last buffer
    minutes = lines[("acs", "pstn")]["usage"]
    assert 0 < minutes["acs_call_minutes"] == minutes["acs_media_minutes"] < 1

    # Priced by the shipped table: each line, the total and the provider split.
    table = load_price_table()
    assert cost["currency"] == "USD" and cost["prices_as_of"] == table.as_of.isoformat()
    d = Decimal
    usage = llm["usage"]
    llm_cost = (
        (d(usage["input_tokens"]) - d(usage["cached_input_tokens"])) * d("0.15")
        + d(usage["cached_input_tokens"]) * d("0.075")
        + d(usage["output_tokens"]) * d("0.60")
    ) / 1_000_000
    assert llm["cost"] == money(llm_cost)
    assert lines[("azure-speech", "neural")]["cost"] == money(d(tts["tts_characters"]) * 15 / 1_000_000)
    assert lines[("azure-speech", "stt")]["cost"] == money(d(str(stt["stt_audio_seconds"])) / 3600)
    assert lines[("acs", "pstn")]["cost"] == money(d(str(minutes["acs_call_minutes"])) * d("0.0085"))
    assert cost["total"] == money(sum((d(str(line["cost"])) for line in cost["lines"]), d(0)))
    assert cost["by_provider"]["azure-speech"] == money(
        d(str(lines[("azure-speech", "neural")]["cost"])) + d(str(lines[("azure-speech", "stt")]["cost"]))
    )
    # ACS audio streaming has no shipped rate: named, never costed at zero.
    assert cost["unpriced"] == ["acs/pstn: acs_media_minutes"]

    # Live: each amount handed out once, so the increments add up to the final document.
    assert abs(sum(u["increment"] for u in updates) - cost["total"]) < 1e-6, updates
    assert updates[-1]["total"] == cost["total"]
    assert (
        sum(
            line["usage"]["output_tokens"]
            for u in updates
            for line in u["lines"]
            if line["provider"] == "azure-openai"
        )
        == usage["output_tokens"]
    )
    # Prometheus: the same tokens by provider and model.
    assert (
        f'switchboard_usage_total{{model="gpt-4o-mini",provider="azure-openai",unit="output_tokens"}} '
        f"{float(usage['output_tokens'])}"
    ) in metrics
    # The daily totals count this call under its scenario.
    [banking] = [row for row in daily["days"] if row["scenario"] == "banking"]
    assert banking["calls"] == 1 and banking["total"] == cost["total"]
