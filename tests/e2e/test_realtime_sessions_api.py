"""The backend's realtime side: `POST /api/v1/realtime/sessions` mints a short-lived client secret, and a browser-style
client opens the backend's own `/v1/realtime` with it (the real openai GA client) and talks to the agent it was
minted for; outside clients without a secret or REALTIME_API_KEY are refused.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import websockets
from openai import AsyncOpenAI

from apps.acs_simulator.server import AcsSimulator
from tests.integration.test_realtime_server_clients import collect_until
from tests.support import running_backend

pytestmark = pytest.mark.e2e

OUTSIDE_KEY = "outside-client-key"


async def test_minted_secret_opens_the_backends_realtime_server_as_the_agent(simulator: AcsSimulator) -> None:
    async with running_backend(simulator) as backend, backend.admin() as admin:
        assert (await admin.post("/api/v1/realtime/sessions", json={"agent": "nobody"})).status_code == 404
        assert (await admin.post("/api/v1/realtime/sessions", json={"scenario": "nope"})).status_code == 404
        assert (await admin.post("/api/v1/realtime/sessions", json={"ttl_seconds": 5})).status_code == 422
        assert (await admin.post("/api/v1/realtime/sessions", json={"colour": "red"})).status_code == 422
        async with httpx.AsyncClient(base_url=backend.url) as anonymous:
            assert (await anonymous.post("/api/v1/realtime/sessions", json={})).status_code == 401
        minted = await admin.post(
            "/api/v1/realtime/sessions", json={"scenario": "banking", "agent": "concierge"}
        )
        assert minted.status_code == 201, minted.text
        body: dict[str, Any] = minted.json()
        port = backend.settings.port
        assert body["url"] == f"ws://127.0.0.1:{port}/v1/realtime"
        assert body["voicelive_url"] == f"ws://127.0.0.1:{port}/voice-live/realtime"

        client = AsyncOpenAI(
            api_key=body["client_secret"]["value"],
            base_url=f"{backend.url}/v1",
            websocket_base_url=body["url"].removesuffix("/realtime"),
        )
        async with client.realtime.connect(model="gpt-realtime") as conn:
            events = conn.__aiter__()
            created = await collect_until(events, "session.created")
            session = created[-1].session
            assert session.instructions == body["session"]["instructions"] != ""
            assert {t.name for t in session.tools} == {t["name"] for t in body["session"]["tools"]}
            # The session runs the concierge's tools: asking for the balance calls get_balance on the client.
            await conn.conversation.item.create(
                item={
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": "What is my checking balance?"}],
                }
            )
            await conn.response.create()
            answer = await collect_until(events, "response.done")
        calls = [e for e in answer if e.type == "response.function_call_arguments.done"]
        assert [c.name for c in calls] == ["get_balance"], [e.type for e in answer]
        assert json.loads(calls[0].arguments).get("account_type") == "checking"


async def test_outside_clients_need_the_realtime_key_or_a_secret(simulator: AcsSimulator) -> None:
    async with running_backend(simulator, realtime_api_key=OUTSIDE_KEY) as backend:
        url = f"ws://127.0.0.1:{backend.settings.port}/voice-live/realtime?api-version=2026-07-15&model=m"
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with websockets.connect(url, additional_headers={"api-key": "wrong"}):
                pass
        assert refused.value.response.status_code == 403
        async with websockets.connect(url, additional_headers={"api-key": OUTSIDE_KEY}) as ws:
            assert json.loads(await ws.recv())["type"] == "session.created"
