"""`GET /api/v1/model-info`: the configured chains in order with their models, deployments, voices and API
versions, a bounded reachability check, the price table in force, and no secret anywhere in the answer."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from apps.acs_simulator.server import AcsSimulator
from tests.fakes.azure_speech_service import AzureSpeechService
from tests.fakes.openai_server import FakeOpenAIServer
from tests.support import ADMIN_KEY, MEDIA_SECRET, running_backend

SPEECH_KEY = "speech-secret-5b7e0c1d9a"
AZURE_OPENAI_KEY = "azure-openai-secret-71c2f"
OPENAI_KEY = "openai-secret-a8d93e"
VOICELIVE_KEY = "voicelive-secret-2f4b6d"
RELAY_KEY = "relay-secret-c0ffee42"


@pytest.fixture
async def speech() -> AsyncIterator[AzureSpeechService]:
    async with AzureSpeechService(key=SPEECH_KEY) as service:
        yield service


@pytest.fixture
async def openai_fake() -> AsyncIterator[FakeOpenAIServer]:
    async with FakeOpenAIServer(api_key=AZURE_OPENAI_KEY) as server:
        yield server


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_model_info_lists_chains_reachability_and_prices_without_secrets(
    simulator: AcsSimulator, speech: AzureSpeechService, openai_fake: FakeOpenAIServer, tmp_path: Path
) -> None:
    prices = tmp_path / "prices.yaml"
    prices.write_text(
        "as_of: 2026-01-31\ncurrency: EUR\nsources: [https://example.invalid/contract]\nprices:\n"
        "  - provider: azure-openai\n    models: [contoso-mini]\n    input_per_million_tokens: 0.2\n"
    )
    dead = closed_port()
    settings = {
        "azure_speech_key": SPEECH_KEY,
        "azure_speech_host": speech.host,
        "azure_speech_voice": "en-US-JennyNeural",
        "azure_openai_endpoint": openai_fake.azure_endpoint,
        "azure_openai_api_key": AZURE_OPENAI_KEY,
        "azure_openai_deployment": "contoso-mini",
        "azure_openai_api_version": "2024-10-21",
        "openai_base_url": f"http://user:{OPENAI_KEY}@127.0.0.1:{dead}/v1?key={OPENAI_KEY}",
        "openai_api_key": OPENAI_KEY,
        "openai_model": "gpt-4.1-mini",
        "azure_voicelive_endpoint": f"http://127.0.0.1:{dead}",
        "azure_voicelive_api_key": VOICELIVE_KEY,
        "azure_voicelive_model": "gpt-realtime",
        "price_table_file": prices,
        "relay_upstream": "openai",
        "relay_upstream_url": f"ws://127.0.0.1:{dead}/v1/realtime",
        "relay_api_key": RELAY_KEY,
    }
    async with running_backend(simulator, **settings) as backend:
        async with backend.admin() as admin:
            response = await admin.get("/api/v1/model-info")
            unchecked = (await admin.get("/api/v1/model-info", params={"check": "false"})).json()
        async with backend.admin() as anonymous:
            anonymous.headers.pop("x-api-key")
            refused = await anonymous.get("/api/v1/model-info")
    assert refused.status_code == 401
    assert response.status_code == 200, response.text
    text = response.text
    access_key = simulator.connection_string.split("accesskey=", 1)[1]
    for secret in (
        SPEECH_KEY,
        AZURE_OPENAI_KEY,
        OPENAI_KEY,
        VOICELIVE_KEY,
        RELAY_KEY,
        ADMIN_KEY,
        MEDIA_SECRET,
        access_key,
    ):
        assert secret not in text, secret
    body = response.json()
    chains = body["chains"]
    assert [p["provider"] for p in chains["stt"]] == ["azure-speech", "pocketsphinx"]
    assert chains["stt"][1]["model"].endswith("final text by pocketsphinx")  # LOCAL_STT_FINAL in tests
    assert [p["provider"] for p in chains["tts"]] == ["azure-speech", "espeak-ng"]
    assert [p["provider"] for p in chains["llm"]] == ["azure-openai", "openai", "local-brain"]
    assert [(p["provider"], p["role"]) for p in chains["realtime"]] == [
        ("azure-voicelive", "voicelive-calls"),
        ("openai-realtime", "relay"),
    ]
    relay = chains["realtime"][1]
    assert relay["reachability"] == "unreachable" and relay["key_configured"] is True
    azure_tts, azure_llm, openai, voicelive = (
        chains["tts"][0],
        chains["llm"][0],
        chains["llm"][1],
        chains["realtime"][0],
    )
    assert azure_tts["voice"] == "en-US-JennyNeural" and azure_tts["key_configured"] is True
    assert (azure_llm["deployment"], azure_llm["api_version"]) == ("contoso-mini", "2024-10-21")
    assert openai["model"] == "gpt-4.1-mini" and openai["endpoint"] == f"http://127.0.0.1:{dead}/v1"
    assert (voicelive["model"], voicelive["api_version"]) == ("gpt-realtime", "2026-07-15")
    # Reachability: the fakes answer, the dead port does not; embedded providers need no network.
    assert chains["stt"][0]["reachability"] == "reachable"
    assert azure_llm["reachability"] == "reachable"
    assert openai["reachability"] == "unreachable"
    assert voicelive["reachability"] == "unreachable"
    assert chains["stt"][1]["reachability"] == chains["llm"][2]["reachability"] == "embedded"
    assert unchecked["chains"]["llm"][0]["reachability"] == "not_checked"
    # The price table in force: the overriding file.
    assert body["prices"]["as_of"] == "2026-01-31" and body["prices"]["currency"] == "EUR"
    assert body["prices"]["file"] == str(prices)
    assert [entry["models"] for entry in body["prices"]["prices"]] == [["contoso-mini"]]
