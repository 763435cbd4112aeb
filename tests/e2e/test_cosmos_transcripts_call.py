"""A real call whose transcript goes to the Cosmos-protocol server (npm @vercel/cosmosdb-server) while that
server is down; after it restarts the spool delivers the whole call: nothing lost, nothing doubled."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from apps.acs_simulator.caller_audio import Say, WaitForAgent
from apps.acs_simulator.server import AcsSimulator
from tests.cosmos_server import EMULATOR_KEY, CosmosServer, unavailable_reason
from tests.support import eventually, running_backend

pytestmark = pytest.mark.skipif(unavailable_reason() is not None, reason=str(unavailable_reason()))


async def test_a_call_during_a_cosmos_outage_is_complete_in_cosmos_after_recovery(
    simulator: AcsSimulator, tmp_path: Path
) -> None:
    async with CosmosServer() as cosmos:
        async with running_backend(
            simulator,
            cosmos_endpoint=cosmos.endpoint,
            cosmos_key=EMULATOR_KEY,
            cosmos_verify_ssl=False,
            transcript_spool_path=tmp_path / "spool.db",
        ) as backend:
            store = backend.runtime.transcripts
            # The server keeps documents in memory only, so a restart forgets what it had acknowledged:
            # take it down before the call writes anything, and the whole call is written during the outage.
            await cosmos.kill()
            result = await simulator.place_call(
                backend.url,
                [WaitForAgent(), Say("What's my balance?"), WaitForAgent()],
                to_number="+18005550100",
                max_duration_s=45,
            )
            await eventually(lambda: store.pending() > 0, timeout=10)  # the turns wait in the spool
            await asyncio.sleep(1.0)  # a few failed flush attempts against the dead server
            assert store.pending() > 0
            await cosmos.restart()
            await eventually(lambda: store.pending() == 0, timeout=30)

            call_id = await backend.runtime.calls.store.resolve(result.call_connection_id)
            assert call_id is not None
            transcript = await store.get(call_id)
    assert transcript is not None
    seqs = [turn.seq for turn in transcript.turns]
    assert seqs == sorted(set(seqs)), seqs  # every turn once, in order
    assert [t.speaker for t in transcript.turns][-2:] == ["caller", "agent"]
    assert transcript.outcome is not None and transcript.outcome.reason == "caller hung up"
