"""Transcripts in Cosmos DB through the durable spool: the real `azure-cosmos` client against a real
Cosmos-protocol server (npm @vercel/cosmosdb-server), including outages, throttling and process restarts."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from azure.cosmos.aio import CosmosClient

from apps.backend.storage.cosmos_transcripts import (
    CosmosTranscriptStore,
    retry_after_seconds,
    turn_doc_id,
)
from apps.backend.storage.transcript_spool import Backoff, SpooledDoc
from tests.cosmos_server import EMULATOR_KEY, CosmosServer, unavailable_reason
from voice.transcript import CallOutcome, ToolCallRecord, TranscriptTurn, TurnLatency

pytestmark = pytest.mark.skipif(unavailable_reason() is not None, reason=unavailable_reason() or "")

FAST = Backoff(base=0.05, cap=0.3)
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture
async def server() -> AsyncIterator[CosmosServer]:
    async with CosmosServer() as srv:
        yield srv


def make_store(endpoint: str, spool: Path, **kwargs: object) -> CosmosTranscriptStore:
    return CosmosTranscriptStore(
        endpoint=endpoint,
        key=EMULATOR_KEY,
        spool_path=spool,
        database="sb-test",
        container="transcripts",
        connection_verify=False,
        backoff=FAST,
        request_timeout=3.0,
        **kwargs,  # type: ignore[arg-type]
    )


def turn(
    call_id: str, seq: int, *, text: str | None = None, response_ms: float | None = None
) -> TranscriptTurn:
    caller = seq % 2 == 0
    return TranscriptTurn(
        call_id=call_id,
        seq=seq,
        speaker="caller" if caller else "agent",
        kind="speech" if caller else "reply",
        agent=None if caller else ("triage" if seq < 4 else "billing"),
        text=text or f"turn {seq}",
        started_at=T0 + timedelta(seconds=seq),
        ended_at=T0 + timedelta(seconds=seq, milliseconds=800),
        tool_calls=()
        if caller
        else (ToolCallRecord(id=f"t{seq}", name="lookup_balance", arguments={}, ok=True),),
        latency=None
        if caller
        else TurnLatency(response_ms=response_ms if response_ms is not None else 100.0 * seq),
    )


async def raw_docs(endpoint: str, call_id: str) -> list[dict]:
    """What Cosmos really holds for a call, read with a separate client."""
    async with CosmosClient(
        endpoint, EMULATOR_KEY, connection_verify=False, enable_endpoint_discovery=False
    ) as c:
        container = c.get_database_client("sb-test").get_container_client("transcripts")
        items = container.query_items(
            "SELECT * FROM c WHERE c.call_id = @id",
            parameters=[{"name": "@id", "value": call_id}],
            partition_key=call_id,
        )
        return [item async for item in items]


async def play_call(store: CosmosTranscriptStore, call_id: str, turns: int) -> None:
    await store.start_call(call_id, caller="+15550100", scenario="banking", started_at=T0)
    for seq in range(turns):
        await store.append_turn(turn(call_id, seq))
    await store.end_call(
        call_id, CallOutcome(reason="caller hung up", ended_at=T0 + timedelta(seconds=turns + 1))
    )


async def test_creates_database_and_container_and_round_trips(server: CosmosServer, tmp_path: Path) -> None:
    store = make_store(server.endpoint, tmp_path / "spool.db")
    await store.open()
    try:
        await play_call(store, "call-1", 6)
        assert await store.flush(10)
        assert store.pending() == 0

        got = await store.get("call-1")
        assert got is not None
        assert [t.seq for t in got.turns] == list(range(6))
        assert got.turns[3] == turn("call-1", 3)
        assert (got.caller, got.scenario, got.started_at) == ("+15550100", "banking", T0)
        assert got.outcome is not None and got.outcome.reason == "caller hung up"
        assert await store.get("never-seen") is None

        summary = await store.summary("call-1")
        assert summary is not None
        assert summary.agents_visited == ["triage", "billing"]
        assert summary.tools_called == ["lookup_balance"]
        assert summary.turn_count == 6 and summary.last_seq == 5
        assert summary.duration_ms == 7000
        assert summary.caller_talk_ms == summary.agent_talk_ms == 3 * 800
        assert summary.latency.turns_measured == 3
        assert (summary.latency.p50_ms, summary.latency.max_ms) == (300.0, 500.0)

        docs = await raw_docs(server.endpoint, "call-1")
        ids = sorted(d["id"] for d in docs)
        assert ids == sorted(["call-1", *(turn_doc_id("call-1", s) for s in range(6))])
        assert {d["type"] for d in docs} == {"call", "turn"}
    finally:
        await store.close()


async def test_rewrites_are_idempotent_and_summary_never_goes_backwards(
    server: CosmosServer, tmp_path: Path
) -> None:
    store = make_store(server.endpoint, tmp_path / "spool.db")
    await store.open()
    try:
        await play_call(store, "call-2", 4)
        await store.flush(10)
        # A retrying writer re-sends turns and the start: still one doc per turn.
        await store.append_turn(turn("call-2", 1))
        await store.append_turn(turn("call-2", 2))
        await store.start_call(
            "call-2", caller="+15550100", scenario="banking", started_at=T0 + timedelta(hours=1)
        )
        assert await store.flush(10)

        docs = await raw_docs(server.endpoint, "call-2")
        assert len(docs) == 5  # summary + 4 turns
        got = await store.get("call-2")
        assert got is not None
        assert [t.text for t in got.turns] == ["turn 0", "turn 1", "turn 2", "turn 3"]
        assert got.started_at == T0  # first start wins
        summary = await store.summary("call-2")
        assert summary is not None
        assert summary.outcome is not None  # the replayed start did not wipe the outcome
        assert summary.turn_count == 4 and summary.latency.max_ms == 300
        assert summary.rev == 1 + 4 + 1 + 1  # start, 4 turns, end, the replayed start (re-sent turns: none)
    finally:
        await store.close()


async def test_two_turns_with_the_same_seq_are_both_kept(server: CosmosServer, tmp_path: Path) -> None:
    """Two writers of one call, each numbering from 0: one replica's spool, then a second replica's (its own
    spool, so only Cosmos knows the first one's turns). No turn replaces another, and seqs never collide."""
    first = make_store(server.endpoint, tmp_path / "first.db")
    second = make_store(server.endpoint, tmp_path / "second.db")
    await first.open()
    await second.open()
    try:
        await first.start_call("call-8", caller="+15550100", scenario="banking", started_at=T0)
        await first.append_turn(turn("call-8", 0, text="first worker, turn 0"))
        await first.append_turn(turn("call-8", 1, text="first worker, turn 1"))
        await first.append_turn(turn("call-8", 0, text="same spool, seq 0 again"))
        assert await first.flush(10)
        await second.append_turn(turn("call-8", 0, text="resumed worker, turn 0"))
        await second.append_turn(turn("call-8", 1, text="resumed worker, turn 1"))
        assert await second.flush(10)
        await second.append_turn(turn("call-8", 1, text="resumed worker, turn 1"))  # a retry: no copy
        assert await second.flush(10)

        docs = [d for d in await raw_docs(server.endpoint, "call-8") if d["type"] == "turn"]
        by_seq = sorted((d["seq"], d["text"]) for d in docs)
        assert by_seq == [
            (0, "first worker, turn 0"),
            (1, "first worker, turn 1"),
            (2, "same spool, seq 0 again"),
            (3, "resumed worker, turn 0"),
            (4, "resumed worker, turn 1"),
        ]
        got = await second.get("call-8")
        assert got is not None
        assert [(t.seq, t.text) for t in got.turns] == by_seq
    finally:
        await second.close()
        await first.close()


async def test_outage_keeps_writes_fast_and_flushes_everything_once_in_order(
    server: CosmosServer, tmp_path: Path
) -> None:
    sent: list[str] = []
    store = make_store(server.endpoint, tmp_path / "spool.db", on_sent=lambda d: sent.append(d.doc_id))
    await store.open()
    try:
        await server.kill()  # before anything was acknowledged: the in-memory server loses what it had
        latencies = []
        await store.start_call("call-3", caller="+15550100", scenario="banking", started_at=T0)
        for seq in range(20):
            began = time.perf_counter()
            await store.append_turn(turn("call-3", seq))
            latencies.append(time.perf_counter() - began)
        await store.end_call(
            "call-3", CallOutcome(reason="caller hung up", ended_at=T0 + timedelta(seconds=30))
        )
        await store.append_turn(turn("other", 0))

        await asyncio.sleep(0.5)  # the flusher tried and failed a few times meanwhile
        assert store.pending() == 20 + 1 + 2  # 21 turns + one coalesced summary per call
        assert store.spool.failures >= 1
        assert not sent
        print(f"spool write latency during outage: max {max(latencies) * 1000:.1f} ms")

        await server.restart()
        assert await store.flush(15)
        turns_sent = [d for d in sent if d.startswith("call-3:")]
        assert turns_sent == [turn_doc_id("call-3", s) for s in range(20)]  # in order, each once
        assert sent.count("call-3") == 1  # the summary went once, as its latest version

        docs = await raw_docs(server.endpoint, "call-3")
        assert sorted(d["seq"] for d in docs if d["type"] == "turn") == list(range(20))
        summary = await store.summary("call-3")
        assert summary is not None
        assert summary.outcome is not None and summary.outcome.reason == "caller hung up"
        assert summary.turn_count == 20
    finally:
        await store.close()


async def test_server_killed_mid_flush_loses_nothing(server: CosmosServer, tmp_path: Path) -> None:
    store = make_store(server.endpoint, tmp_path / "spool.db")
    await store.open()
    try:
        await store.start_call("call-4", caller=None, scenario=None, started_at=T0)

        async def write_turns() -> None:
            for seq in range(60):
                await store.append_turn(turn("call-4", seq))

        writer = asyncio.create_task(write_turns())
        await asyncio.sleep(0.02)
        await server.kill()  # somewhere mid-stream; acknowledged docs die with the server's memory
        await writer
        await store.end_call("call-4", CallOutcome(reason="transferred"))
        assert store.pending() > 0
        await server.restart()
        assert await store.flush(15)
        # Whatever was spooled after the kill arrived once, and the summary (re-sent whole) is complete.
        summary = await store.summary("call-4")
        assert summary is not None and summary.turn_count == 60 and summary.outcome is not None
        docs = await raw_docs(server.endpoint, "call-4")
        seqs = [d["seq"] for d in docs if d["type"] == "turn"]
        assert len(seqs) == len(set(seqs))
    finally:
        await store.close()


async def test_a_new_process_flushes_what_the_previous_one_left_in_the_spool(
    server: CosmosServer, tmp_path: Path
) -> None:
    spool = tmp_path / "spool.db"
    first = make_store(server.endpoint, spool)
    await first.open()
    await server.kill()
    await play_call(first, "call-5", 5)
    assert first.pending() == 6
    await first.close(flush_timeout=0)  # the process goes away with its spool on disk

    await server.start()
    second = make_store(server.endpoint, spool)
    await second.open()
    try:
        assert await second.flush(15)
        got = await second.get("call-5")
        assert got is not None
        assert [t.seq for t in got.turns] == list(range(5)) and got.outcome is not None
        # The merged summary state survived the restart too: a late turn extends it, not replaces it.
        await second.append_turn(turn("call-5", 5))
        assert await second.flush(10)
        summary = await second.summary("call-5")
        assert summary is not None and summary.turn_count == 6 and summary.outcome is not None
    finally:
        await second.close()


async def test_get_sees_writes_still_in_the_spool(server: CosmosServer, tmp_path: Path) -> None:
    store = make_store(server.endpoint, tmp_path / "spool.db")
    await store.open()
    try:
        await play_call(store, "call-6", 2)
        assert await store.flush(10)
        await server.kill()
        await store.append_turn(turn("call-6", 2))
        await server.restart()  # empty now: only the spool still has turn 2 until the flusher catches up
        got = await store.get("call-6")
        assert got is not None and 2 in [t.seq for t in got.turns]
    finally:
        await store.close()


# throttling ---------------------------------------------------------------------------------------------------


class ThrottlingProxy:
    """Forwards to the real server but answers the first `throttle` document writes with 429 + retry-after."""

    def __init__(self, upstream: str, throttle: int, retry_after_ms: int) -> None:
        self.upstream = upstream
        self.throttle = throttle
        self.retry_after_ms = retry_after_ms
        self.doc_writes: list[tuple[float, int]] = []
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.endpoint = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.endpoint = f"http://127.0.0.1:{port}"
        self._session = aiohttp.ClientSession(auto_decompress=False)

    async def stop(self) -> None:
        if self._session:
            await self._session.close()
        if self._runner:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        if request.method == "POST" and request.path.rstrip("/").endswith("/docs"):
            if len([w for w in self.doc_writes if w[1] == 429]) < self.throttle:
                self.doc_writes.append((time.monotonic(), 429))
                return web.json_response(
                    {"code": "TooManyRequests", "message": "Request rate is large"},
                    status=429,
                    headers={"x-ms-retry-after-ms": str(self.retry_after_ms), "x-ms-substatus": "3200"},
                )
            self.doc_writes.append((time.monotonic(), 200))
        assert self._session is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in {"host", "content-length"}}
        async with self._session.request(
            request.method, self.upstream + request.path_qs, headers=headers, data=body
        ) as upstream:
            payload = await upstream.read()
            skip = {"content-length", "transfer-encoding", "content-encoding", "connection"}
            out = {k: v for k, v in upstream.headers.items() if k.lower() not in skip}
            return web.Response(status=upstream.status, headers=out, body=payload)


async def test_throttled_writes_wait_the_servers_retry_after_then_land(
    server: CosmosServer, tmp_path: Path
) -> None:
    proxy = ThrottlingProxy(server.endpoint, throttle=2, retry_after_ms=400)
    await proxy.start()
    store = make_store(proxy.endpoint, tmp_path / "spool.db")
    await store.open()
    try:
        await play_call(store, "call-7", 3)
        assert await store.flush(15)
        statuses = [s for _, s in proxy.doc_writes]
        assert statuses[:2] == [429, 429] and set(statuses[2:]) == {200}
        first_429, second_429, first_ok = (t for t, _ in proxy.doc_writes[:3])
        assert (
            second_429 - first_429 >= 0.4 and first_ok - second_429 >= 0.4
        )  # the SDK did not retry on its own
        docs = await raw_docs(server.endpoint, "call-7")
        assert len(docs) == 4
    finally:
        await store.close()
        await proxy.stop()


def test_retry_after_header_parsing() -> None:
    assert retry_after_seconds({"x-ms-retry-after-ms": "250"}) == 0.25
    assert retry_after_seconds({"X-Ms-Retry-After-Ms": "1000.5"}) == pytest.approx(1.0005)
    assert retry_after_seconds({"x-ms-retry-after-ms": "soon"}) is None
    assert retry_after_seconds({"x-ms-retry-after-ms": "-5"}) is None
    assert retry_after_seconds({}) is None


def test_backoff_grows_with_jitter_and_honours_retry_after() -> None:
    policy = Backoff(base=0.1, cap=2.0)
    rng = random.Random(7)
    for attempt, ceiling in [(0, 0.1), (1, 0.2), (3, 0.8), (10, 2.0)]:
        delays = {policy.delay(attempt, rng=rng) for _ in range(50)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1  # jittered, so writers don't return in lockstep
    assert all(1.5 <= policy.delay(0, 1.5, rng) <= 1.5 + 0.1 for _ in range(50))  # never before retry-after


async def test_spooled_doc_coalescing_counts(tmp_path: Path) -> None:
    """Unit check of the spool's accounting: superseded full-state docs are replaced, not queued twice."""

    class Down:
        async def upsert(self, partition: str, body: dict) -> None:
            from apps.backend.storage.transcript_spool import SinkError

            raise SinkError("down")

    from apps.backend.storage.transcript_spool import TranscriptSpool

    spool = TranscriptSpool(tmp_path / "s.db", Down(), backoff=Backoff(base=10, cap=10))
    await spool.open()
    try:
        for rev in range(5):
            await spool.write("p", [SpooledDoc("p", "p", {"id": "p", "rev": rev}, coalesce=True)])
        await spool.write("p", [SpooledDoc("p", "p:1", {"id": "p:1"})])
        assert spool.pending() == 2
        assert [d["id"] for d in await spool.pending_docs("p")] == ["p", "p:1"]
        assert (await spool.pending_docs("p"))[0]["rev"] == 4
        assert not await spool.flush(0.05)
    finally:
        await spool.close()
