"""The read APIs behind the console (live calls across replicas, searchable call history, the registry in one
read), the console's static shell at /console and Swagger UI at /docs from local files with the admin key
declared as a security scheme."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx

from apps.acs_simulator.server import AcsSimulator
from apps.backend.storage.call_store import CallChannel, CallDirection, CallRecord, CallStatus, utcnow
from tests.support import Backend, running_backend


async def store(backend: Backend, call_id: str, **fields: Any) -> CallRecord:
    values: dict[str, Any] = {
        "direction": CallDirection.INBOUND,
        "scenario": "banking",
        "caller": "+14255550123",
    }
    record = CallRecord(call_id=call_id, **(values | fields))
    await backend.runtime.calls.store.create(record)
    return record


async def test_live_calls_are_listed_on_every_replica_with_masked_numbers_and_current_agents(
    simulator: AcsSimulator,
) -> None:
    now = utcnow()
    async with running_backend(simulator) as first:
        redis_url = first.runtime.embedded_redis.url  # type: ignore[union-attr]
        async with running_backend(simulator, redis_url=redis_url) as second:
            handed_off = CallRecord(
                call_id="live-phone",
                direction=CallDirection.INBOUND,
                scenario="banking",
                caller="+14255550123",
                status=CallStatus.CONNECTED,
                created_at=now - timedelta(seconds=40),
                connected_at=now - timedelta(seconds=30),
            )
            handed_off.add_event("agent_changed", "concierge -> fraud")
            await first.runtime.calls.store.create(handed_off)
            await store(
                first, "live-session", channel=CallChannel.WEBRTC, caller="", status=CallStatus.INCOMING
            )
            await store(first, "ended-call", status=CallStatus.ENDED, created_at=now - timedelta(seconds=5))
            await store(first, "failed-call", status=CallStatus.FAILED)

            async with httpx.AsyncClient(base_url=second.url) as anonymous:
                assert (await anonymous.get("/api/v1/live-calls")).status_code == 401
            async with second.admin() as admin:  # the replica that created none of them
                listed = (await admin.get("/api/v1/live-calls")).json()

    assert listed["count"] == 2
    calls = {c["call_id"]: c for c in listed["calls"]}
    assert set(calls) == {"live-phone", "live-session"}
    phone = calls["live-phone"]
    assert (phone["channel"], phone["status"], phone["scenario"]) == ("phone", "connected", "banking")
    assert phone["caller"] == "+1••••••0123"
    assert phone["agent"] == "fraud"
    assert 30 <= phone["duration_s"] < 120  # since connected, not since created
    session = calls["live-session"]
    assert (session["channel"], session["caller"], session["agent"]) == ("webrtc", "", "concierge")


async def test_call_history_pages_through_ended_calls_matching_every_word(backend: Backend) -> None:
    now = utcnow()
    for i in range(5):
        await store(
            backend,
            f"bank-{i}",
            status=CallStatus.ENDED,
            end_reason="caller hung up",
            created_at=now - timedelta(seconds=100 - i),
        )
    await store(backend, "insured", scenario="insurance", status=CallStatus.ENDED, end_reason="transferred")
    await store(backend, "bank-live", status=CallStatus.CONNECTED)
    await store(backend, "bank-failed", status=CallStatus.FAILED, end_reason="answer failed")

    async with backend.admin() as admin:

        async def pages(q: str, limit: int) -> list[list[str]]:
            found: list[list[str]] = []
            cursor: str | None = None
            while True:
                params = {"q": q, "limit": str(limit)} | ({"cursor": cursor} if cursor else {})
                response = await admin.get("/api/v1/call-history", params=params)
                assert response.status_code == 200, response.text
                body = response.json()
                found.append([c["call_id"] for c in body["calls"]])
                cursor = body["next_cursor"]
                if cursor is None:
                    return found

        everything = await pages("", 3)
        banking_hung_up = await pages("banking HUNG", 2)
        transferred = await pages("transferred", 10)
        bad_cursor = await admin.get("/api/v1/call-history", params={"cursor": "nope"})
        too_long = await admin.get("/api/v1/call-history", params={"q": "x" * 101})
    async with httpx.AsyncClient(base_url=backend.url) as anonymous:
        assert (await anonymous.get("/api/v1/call-history")).status_code == 401

    ended_newest_first = ["bank-failed", "insured", "bank-4", "bank-3", "bank-2", "bank-1", "bank-0"]
    assert [c for page in everything for c in page] == ended_newest_first  # never the live call
    assert all(len(page) <= 3 for page in everything)
    assert [c for page in banking_hung_up for c in page] == ["bank-4", "bank-3", "bank-2", "bank-1", "bank-0"]
    assert transferred[0] == ["insured"]
    assert bad_cursor.status_code == 400 and too_long.status_code == 422


async def test_the_registry_reads_in_one_call_with_prompts_graphs_and_schemas(backend: Backend) -> None:
    async with backend.admin() as admin:
        view = (await admin.get("/api/v1/registry")).json()
    async with httpx.AsyncClient(base_url=backend.url) as anonymous:
        assert (await anonymous.get("/api/v1/registry")).status_code == 401
    snapshot = backend.runtime.registry.current
    assert view["version"] == snapshot.version
    agents = {a["name"]: a for a in view["agents"]}
    assert set(agents) == set(snapshot.agents)
    for name, agent in agents.items():
        assert agent["prompt"] == snapshot.agents[name].prompt_template and agent["prompt"]
        assert agent["source"] == f"{name}.yaml"
    banking = next(s for s in view["scenarios"] if s["name"] == "banking")
    assert {(e["from"], e["to"]) for e in banking["handoffs"]} == {
        (e.from_agent, e.to) for e in snapshot.scenarios["banking"].handoffs
    }
    tools = {t["name"]: t for t in view["tools"]}
    assert tools["get_balance"]["parameters"]["type"] == "object"


async def test_console_and_docs_are_served_from_this_host(backend: Backend) -> None:
    async with httpx.AsyncClient(base_url=backend.url) as client:
        redirect = await client.get("/console")
        index = await client.get("/console/")
        app_js = await client.get("/console/static/js/app.js")
        docs = await client.get("/docs")
        bundle = await client.get("/docs/assets/swagger-ui-bundle.js")
        licence = await client.get("/docs/assets/LICENSE")
        redoc = await client.get("/redoc")
        spec = (await client.get("/openapi.json")).json()

    assert redirect.status_code == 307 and redirect.headers["location"] == "/console/"
    assert index.status_code == 200 and "default-src 'self'" in index.headers["content-security-policy"]
    assert 'src="/console/static/js/app.js"' in index.text
    assert app_js.status_code == 200 and "javascript" in app_js.headers["content-type"]
    # Swagger UI from our own files: nothing in the page points at another host.
    assert docs.status_code == 200 and "/docs/assets/swagger-ui-bundle.js" in docs.text
    assert not re.search(r"(src|href)=\"https?://", docs.text)
    assert bundle.status_code == 200 and len(bundle.content) > 500_000
    assert licence.status_code == 200 and "Apache License" in licence.text
    assert redoc.status_code == 404  # it would load from a CDN
    # The admin key is a security scheme, required by every admin operation and by no public one.
    assert spec["components"]["securitySchemes"]["AdminKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "The admin key (setting ADMIN_API_KEY).",
    }
    secured = {
        (path, method)
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
        if {"AdminKey": []} in op.get("security", [])
    }
    assert {
        ("/api/v1/calls", "get"),
        ("/api/v1/calls/{call_id}/transcript", "get"),
        ("/api/v1/agents/refresh", "post"),
        ("/api/v1/live-calls", "get"),
        ("/api/v1/registry", "get"),
    } <= secured
    assert ("/api/v1/health", "get") not in secured and ("/api/v1/calls/events", "post") not in secured


async def test_the_live_media_count_is_the_same_on_every_replica_and_follows_the_claims(
    simulator: AcsSimulator,
) -> None:
    async with running_backend(simulator) as first:
        redis_url = first.runtime.embedded_redis.url  # type: ignore[union-attr]
        async with running_backend(simulator, redis_url=redis_url) as second:

            async def counts() -> list[int]:
                seen = []
                for replica in (first, second):
                    async with replica.admin() as admin:
                        response = await admin.get("/api/v1/live-calls/count")
                    assert response.status_code == 200, response.text
                    seen.append(response.json()["live_media"])
                return seen

            assert await counts() == [0, 0]
            assert await first.runtime.calls.claim_media("call-a")
            assert await second.runtime.calls.claim_media("call-b")
            assert await first.runtime.calls.claim_media("call-c")
            assert await counts() == [3, 3]
            await first.runtime.calls.release_media("call-a")
            assert await counts() == [2, 2]
            async with httpx.AsyncClient(base_url=first.url) as anonymous:
                assert (await anonymous.get("/api/v1/live-calls/count")).status_code == 401
            await first.runtime.calls.release_media("call-c")
            await second.runtime.calls.release_media("call-b")
