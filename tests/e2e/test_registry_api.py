"""POST /api/v1/agents/refresh: validated, atomic, seen by every replica, and never changing a live call."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import httpx

from apps.acs_simulator.events import incoming_call_event
from apps.acs_simulator.inbound import event_grid_headers
from apps.acs_simulator.server import AcsSimulator
from tests.support import ADMIN_KEY, Backend, eventually, free_port, running_backend

HELPDESK_NUMBER = "+18005550199"


def _write_helpdesk(root: Path, greeting: str) -> None:
    (root / "agents").mkdir(parents=True, exist_ok=True)
    (root / "scenarios").mkdir(parents=True, exist_ok=True)
    (root / "agents" / "front_desk.yaml").write_text(
        f"name: front_desk\ndescription: Answers the helpdesk line.\ngreeting: {greeting}\n"
        "prompt: You answer the Acme helpdesk. Keep answers short.\ntools: [transfer_to_human, end_call]\n"
    )
    (root / "scenarios" / "helpdesk.yaml").write_text(
        f"name: helpdesk\ndescription: Acme helpdesk.\nstart_agent: front_desk\nagents: [front_desk]\n"
        f'phone_numbers: ["{HELPDESK_NUMBER}"]\n'
    )


async def _refresh(backend: Backend) -> httpx.Response:
    async with backend.admin() as admin:
        return await admin.post("/api/v1/agents/refresh")


async def test_read_endpoints_show_the_shipped_registry(simulator: AcsSimulator, backend: Backend) -> None:
    async with backend.admin() as admin:
        agents = (await admin.get("/api/v1/agents")).json()
        scenarios = (await admin.get("/api/v1/scenarios")).json()
        tools = (await admin.get("/api/v1/tools")).json()
        concierge = await admin.get("/api/v1/agents/concierge")
        missing = await admin.get("/api/v1/agents/nobody")
    async with httpx.AsyncClient(base_url=backend.url) as anonymous:
        assert (await anonymous.get("/api/v1/agents")).status_code == 401
    assert {"concierge", "card_services", "fraud"} <= {a["name"] for a in agents["agents"]}
    assert {"banking", "insurance"} <= {s["name"] for s in scenarios["scenarios"]}
    balance = next(t for t in tools["tools"] if t["name"] == "get_balance")
    assert balance["parameters"]["type"] == "object" and len(balance["examples"]) >= 5
    assert concierge.json()["agent"]["name"] == "concierge" and missing.status_code == 404
    assert agents["version"] == scenarios["version"] == tools["version"]


async def test_refresh_adds_agents_and_rejects_broken_yaml_without_changing_anything(
    simulator: AcsSimulator, tmp_path: Path
) -> None:
    (tmp_path / "agents").mkdir()  # an empty extra folder, as ops would create it before dropping files
    async with running_backend(simulator, agents_dir=tmp_path) as backend:
        before = backend.runtime.registry.current.version
        _write_helpdesk(tmp_path, "Acme helpdesk, how can I help?")
        added = await _refresh(backend)
        assert added.status_code == 200, added.text
        body = added.json()
        assert body["previous_version"] == before and body["version"] != before
        assert body["changed"]["agents"]["added"] == ["front_desk"]
        assert body["replicas"]["missing"] == []
        assert [a["ok"] for a in body["replicas"]["acknowledged"]] == [True]
        good_version = body["version"]

        # An ops typo: an unknown key on line 3.
        (tmp_path / "agents" / "front_desk.yaml").write_text(
            "name: front_desk\ndescription: x\ngreting: Hello\nprompt: p\n"
        )
        broken = await _refresh(backend)
        assert broken.status_code == 422
        errors = broken.json()["errors"]
        assert any(
            e["file"].endswith("front_desk.yaml") and e["line"] == 3 and "greting" in str(e) for e in errors
        )
        assert backend.runtime.registry.current.version == good_version

        (tmp_path / "agents" / "front_desk.yaml").write_text(
            "name: front_desk\ndescription: x\ngreeting: Hello\nprompt: p\ntools: [transfer_to_humn]\n"
        )
        unknown_tool = await _refresh(backend)
        assert unknown_tool.status_code == 422
        messages = [e["message"] for e in unknown_tool.json()["errors"]]
        assert any("transfer_to_humn" in m and "transfer_to_human" in m for m in messages), messages
        assert backend.runtime.registry.current.version == good_version


async def test_refresh_reaches_a_second_backend_process_over_redis(
    simulator: AcsSimulator, tmp_path: Path
) -> None:
    (tmp_path / "agents").mkdir()
    async with running_backend(simulator, agents_dir=tmp_path) as first:
        assert first.runtime.embedded_redis is not None
        port = free_port()
        env = {
            **os.environ,
            "PORT": str(port),
            "REDIS_URL": first.runtime.embedded_redis.url,
            "AGENTS_DIR": str(tmp_path),
            "ADMIN_API_KEY": ADMIN_KEY,
            "ACS_CONNECTION_STRING": simulator.connection_string,
            "ACS_JWKS_URL": simulator.jwks_url,
            "EVENT_GRID_SECRET": simulator.event_grid_secret or "",
            "LOG_FORMAT": "json",
        }
        second = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "apps.backend.cli", "serve", env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        try:
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}", headers={"x-api-key": ADMIN_KEY}
            ) as other:

                async def ready() -> bool:
                    try:
                        return (await other.get("/api/v1/readiness")).status_code == 200
                    except httpx.HTTPError:
                        return False

                await eventually(ready, timeout=60)
                _write_helpdesk(tmp_path, "Acme helpdesk, how can I help?")
                response = await _refresh(first)
                assert response.status_code == 200, response.text
                replicas = response.json()["replicas"]
                assert len(replicas["expected"]) == 2 and replicas["missing"] == []
                assert all(a["ok"] for a in replicas["acknowledged"]) and len(replicas["acknowledged"]) == 2
                seen = (await other.get("/api/v1/agents")).json()
                assert seen["version"] == response.json()["version"]
                assert "front_desk" in {a["name"] for a in seen["agents"]}
        finally:
            second.terminate()
            await asyncio.wait_for(second.wait(), timeout=30)


async def _dial(backend: Backend, simulator: AcsSimulator, to_number: str):  # type: ignore[no-untyped-def]
    call = simulator.register_incoming_call(to_number=to_number)
    event = incoming_call_event(
        to_number=to_number,
        from_number="+14255550123",
        server_call_id=call.server_call_id,
        caller_display_name="",
        incoming_call_context=call.incoming_call_context,
        correlation_id=call.correlation_id,
    )
    async with httpx.AsyncClient(base_url=backend.url) as client:
        posted = await client.post(
            simulator.webhook_url(backend.url),
            json=[event.model_dump(by_alias=True, mode="json")],
            headers=event_grid_headers("Notification"),
        )
    assert posted.status_code == 200, posted.text
    return call


async def _spoken_greeting(backend: Backend, call_connection_id: str) -> tuple[str, str]:
    async def greeted() -> tuple[str, str] | None:
        call_id = await backend.runtime.calls.store.resolve(call_connection_id)
        if call_id is None:
            return None
        record = await backend.runtime.calls.store.get(call_id)
        transcript = await backend.runtime.transcripts.get(call_id)
        greetings = [t.text for t in transcript.turns if t.kind == "greeting"] if transcript else []
        return (record.registry_version or "", greetings[0]) if greetings else None

    return await eventually(greeted, timeout=20)


async def test_dialed_number_picks_the_scenario(simulator: AcsSimulator) -> None:
    async with running_backend(simulator, scenario_numbers={"+18005550300": "insurance"}) as backend:
        for number, scenario in (
            ("+18005550300", "insurance"),
            ("+18005550200", "insurance"),
            ("+18005559999", "banking"),
        ):
            call = await _dial(backend, simulator, number)
            call_id = await eventually(
                lambda call=call: backend.runtime.calls.store.resolve(call.call_connection_id)
            )
            assert (await backend.runtime.calls.store.get(call_id)).scenario == scenario
            async with backend.admin() as admin:
                await admin.delete(f"/api/v1/calls/{call.call_connection_id}")


async def test_a_live_call_keeps_its_snapshot_while_new_calls_get_the_new_one(
    simulator: AcsSimulator, tmp_path: Path
) -> None:
    _write_helpdesk(tmp_path, "Helpdesk version one.")
    async with running_backend(simulator, agents_dir=tmp_path) as backend:
        old_version = backend.runtime.registry.current.version
        live = await _dial(backend, simulator, HELPDESK_NUMBER)
        await eventually(lambda: backend.runtime.calls.live_calls == 1)

        _write_helpdesk(tmp_path, "Helpdesk version two.")
        assert (await _refresh(backend)).status_code == 200
        new_version = backend.runtime.registry.current.version
        assert new_version != old_version

        fresh = await _dial(backend, simulator, HELPDESK_NUMBER)
        assert await _spoken_greeting(backend, live.call_connection_id) == (
            old_version,
            "Helpdesk version one.",
        )
        assert await _spoken_greeting(backend, fresh.call_connection_id) == (
            new_version,
            "Helpdesk version two.",
        )
        assert not live.ended.is_set()  # the refresh dropped nothing

        async with backend.admin() as admin:
            for call in (live, fresh):
                assert (await admin.delete(f"/api/v1/calls/{call.call_connection_id}")).status_code == 200
        await eventually(lambda: backend.runtime.calls.live_calls == 0)


async def test_refresh_rejects_an_invalid_intake_form_at_its_line(
    simulator: AcsSimulator, tmp_path: Path
) -> None:
    (tmp_path / "agents").mkdir()
    async with running_backend(simulator, agents_dir=tmp_path) as backend:
        before = backend.runtime.registry.current.version
        _write_helpdesk(tmp_path, "Acme helpdesk, how can I help?")
        scenario = tmp_path / "scenarios" / "helpdesk.yaml"
        form = "intake:\n  fields:\n    - name: urgency\n      type: enum\n      values: [high]\n      description: How urgent.\n"
        scenario.write_text(scenario.read_text() + form)
        line = scenario.read_text().splitlines().index("    - name: urgency") + 1
        response = await _refresh(backend)
        assert response.status_code == 422, response.text
        assert {
            "file": str(scenario),
            "line": line,
            "field": "intake.fields[0]",
            "message": "an enum field needs at least two values",
        } in response.json()["errors"], response.text
        assert backend.runtime.registry.current.version == before  # the old registry stays live
