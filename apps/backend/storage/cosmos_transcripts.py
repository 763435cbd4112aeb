"""Transcripts in Azure Cosmos DB (`azure-cosmos` aio), written through a durable local spool.

One container partitioned on `/call_id` holds, per call, one summary document (`id = call_id`, type "call") and
one document per turn (`id = "{call_id}:{seq:05d}"`, type "turn", with its `turn_key`). The summary is upserted;
a turn is created, never replaced: its seq is picked on the spool thread (the writer's, or the call's last + 1
when another turn has that one), and if Cosmos already holds another turn under that id (a second replica wrote
the call) the sink stores it after the partition's last turn instead. A re-sent turn whose `turn_key` Cosmos
already has is acknowledged as is, so delivery stays idempotent.

The public methods only commit to the local spool (`TranscriptSpool`) and return; a flusher sends to Cosmos, so a
Cosmos outage or throttling never stalls a call and loses nothing. The summary is derived on the spool thread
from a per-call merge state keyed by turn seq, and every summary write carries the whole summary (with a
monotonic `rev`), so replays and retries can never move it backwards (the documents: `cosmos_documents`).

Emulator quirks handled (npm `@vercel/cosmosdb-server`): plain http needs `enable_endpoint_discovery=False`; a
missing document answers 500, not 404 (so reads are partition-scoped queries, never `read_item`); no batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from azure.core.exceptions import AzureError
from azure.cosmos import PartitionKey
from azure.cosmos._retry_options import RetryOptions
from azure.cosmos.aio import ContainerProxy, CosmosClient
from azure.cosmos.documents import ConnectionPolicy
from azure.cosmos.exceptions import CosmosHttpResponseError, CosmosResourceExistsError

from apps.backend.storage.cosmos_documents import (
    CallState,
    CallSummaryDoc,
    draft_merge,
    summary_merge,
    turn_doc_id,
    turn_merge,
    turn_order,
)
from apps.backend.storage.transcript_spool import Backoff, SinkError, SpooledDoc, TranscriptSpool
from voice.transcript import CallOutcome, CallTranscript, TranscriptTurn

__all__ = [
    "CallSummaryDoc",
    "CosmosDocumentSink",
    "CosmosTranscriptStore",
    "retry_after_seconds",
    "turn_doc_id",
]

RETRY_AFTER_HEADER = "x-ms-retry-after-ms"
# Statuses where retrying the same upsert later can succeed. 404 means database/container vanished (recreated
# on the next attempt); 401/403 are config or key rotation: keep the data spooled until someone fixes it.
_RETRYABLE = {401, 403, 404, 408, 410, 429, 449}
MAX_TURN_RENUMBERS = 8
"""Conflicts one turn may meet (another writer taking the next seq first) before the round is retried later."""


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    """The server's `x-ms-retry-after-ms` as seconds, or None if absent or garbage."""
    if not headers:
        return None
    raw = next((v for k, v in headers.items() if k.lower() == RETRY_AFTER_HEADER), None)
    try:
        value = float(raw) / 1000.0 if raw is not None else None
    except ValueError:
        return None
    return value if value is not None and value >= 0 else None


def classify(exc: BaseException) -> SinkError:
    """Map an SDK / transport failure to what the spool should do with it."""
    if isinstance(exc, CosmosHttpResponseError):
        status = exc.status_code or 0
        permanent = status not in _RETRYABLE and not status >= 500 and status != 0
        return SinkError(
            f"cosmos {status}", permanent=permanent, retry_after=retry_after_seconds(exc.headers or {})
        )
    return SinkError(f"cosmos unreachable: {type(exc).__name__}")


# the Cosmos side ---------------------------------------------------------------------------------------------


class CosmosDocumentSink:
    """Upserts into one container, creating database and container if missing (also after they vanish)."""

    def __init__(self, client: CosmosClient, database: str, container: str) -> None:
        self._client = client
        self._database = database
        self._container_name = container
        self._container: ContainerProxy | None = None
        self._lock = asyncio.Lock()

    async def container(self) -> ContainerProxy:
        if self._container is None:
            async with self._lock:
                if self._container is None:
                    db = await self._client.create_database_if_not_exists(self._database)
                    self._container = await db.create_container_if_not_exists(
                        self._container_name, partition_key=PartitionKey(path="/call_id")
                    )
        return self._container

    async def upsert(self, partition: str, body: dict[str, Any]) -> None:
        """Summaries are upserted; turns (with a `turn_key`) are created, never replaced."""
        try:
            container = await self.container()
            if body.get("type") == "turn" and body.get("turn_key"):
                await self._create_turn(container, partition, body)
            else:
                await container.upsert_item(body)
        except (AzureError, OSError) as exc:  # OSError covers TimeoutError
            error = classify(exc)
            if error.retry_after is None:
                self._container = None  # re-check database and container on the next attempt
            raise error from exc

    async def _create_turn(self, container: ContainerProxy, call_id: str, body: dict[str, Any]) -> None:
        for _ in range(MAX_TURN_RENUMBERS):
            try:
                await container.create_item(body)
                return
            except CosmosResourceExistsError:
                pass
            # Another turn has this id: this one is already stored (a re-send), or it goes after the last.
            params: list[dict[str, object]] = [
                {"name": "@id", "value": call_id},
                {"name": "@key", "value": body["turn_key"]},
            ]
            if await _values(
                container,
                "SELECT VALUE c.id FROM c WHERE c.call_id = @id AND c.turn_key = @key",
                call_id,
                params,
            ):
                return
            seqs = await _values(
                container,
                "SELECT VALUE c.seq FROM c WHERE c.call_id = @id AND c.type = 'turn'",
                call_id,
                params[:1],
            )
            seq = max(int(body["seq"]), max((int(s) for s in seqs), default=-1) + 1)
            body = {**body, "seq": seq, "id": turn_doc_id(call_id, seq)}
        raise SinkError("turn seq kept colliding with another writer")


async def _values(
    container: ContainerProxy, sql: str, partition: str, params: list[dict[str, object]]
) -> list[Any]:
    items = container.query_items(sql, parameters=params, partition_key=partition)
    return [item async for item in items]


def _fail_fast_policy() -> ConnectionPolicy:
    # The spool owns retries (durably, with backoff); the SDK's own in-memory retries would only hide outages.
    policy = ConnectionPolicy()
    policy.RetryOptions = RetryOptions(max_retry_attempt_count=0)
    return policy


class CosmosTranscriptStore:
    """`TranscriptStore` on Cosmos DB; writes return once durable in the local spool."""

    def __init__(
        self,
        *,
        endpoint: str,
        key: str,
        spool_path: str | Path,
        database: str = "switchboard",
        container: str = "transcripts",
        connection_verify: bool = True,
        backoff: Backoff | None = None,
        request_timeout: float = 10.0,
        on_sent: Callable[[SpooledDoc], None] | None = None,
    ) -> None:
        self._client = CosmosClient(
            endpoint,
            credential=key,
            connection_verify=connection_verify,
            # Endpoint discovery rewrites to the account's advertised (https) regions: wrong for local servers
            # and pointless for single-region accounts.
            enable_endpoint_discovery=False,
            connection_policy=_fail_fast_policy(),
            retry_total=0,
            retry_connect=0,
            retry_read=0,
            connection_timeout=request_timeout,
        )
        self.sink = CosmosDocumentSink(self._client, database, container)
        self.spool = TranscriptSpool(
            spool_path, self.sink, backoff=backoff, send_timeout=request_timeout, on_sent=on_sent
        )

    async def open(self) -> None:
        """Opens the spool and starts flushing; never waits for Cosmos (it may be down at start-up)."""
        await self.spool.open()

    async def close(self, flush_timeout: float = 5.0) -> None:
        """Give the flusher `flush_timeout` seconds, then stop; leftovers stay spooled for the next start."""
        if flush_timeout > 0:
            await self.spool.flush(flush_timeout)
        await self.spool.close()
        await self._client.close()

    def pending(self) -> int:
        return self.spool.pending()

    async def flush(self, timeout: float) -> bool:
        return await self.spool.flush(timeout)

    # TranscriptStore ------------------------------------------------------------------------------------------

    async def start_call(
        self, call_id: str, *, caller: str | None, scenario: str | None, started_at: datetime
    ) -> None:
        def change(state: CallState) -> None:
            state.caller, state.scenario = caller, scenario
            state.started_at = state.started_at or started_at

        await self.spool.write(call_id, merge=summary_merge(call_id, change))

    async def append_turn(self, turn: TranscriptTurn) -> None:
        await self.spool.write(turn.call_id, merge=turn_merge(turn))

    async def save_draft(self, draft: TranscriptTurn) -> None:
        await self.spool.write(draft.call_id, merge=draft_merge(draft))

    async def clear_draft(self, call_id: str) -> None:
        await self.spool.write(call_id, merge=draft_merge(None))

    async def draft(self, call_id: str) -> TranscriptTurn | None:
        """The call's reply in progress, as this replica's spool holds it (drafts never leave the spool)."""
        raw = await self.spool.state(call_id)
        return CallState.model_validate_json(raw).draft if raw else None

    async def end_call(self, call_id: str, outcome: CallOutcome) -> None:
        def change(state: CallState) -> None:
            state.outcome = outcome
            state.draft = None

        await self.spool.write(call_id, merge=summary_merge(call_id, change))

    async def get(self, call_id: str) -> CallTranscript | None:
        """Cosmos (partition-scoped queries) overlaid with this call's still-spooled writes, which are newer."""
        container = await self.sink.container()
        params: list[dict[str, object]] = [{"name": "@id", "value": call_id}]

        async def query(sql: str) -> list[dict[str, Any]]:
            items = container.query_items(sql, parameters=params, partition_key=call_id)
            return [item async for item in items]

        stored_turns, stored_summary, spooled = await asyncio.gather(
            query("SELECT * FROM c WHERE c.call_id = @id AND c.type = 'turn' ORDER BY c.seq"),
            query("SELECT * FROM c WHERE c.call_id = @id AND c.type = 'call'"),
            self.spool.pending_docs(call_id),
        )
        # A turn is known by its key (by its id if it predates keys); a spooled copy of a stored one is newer.
        turns = {doc.get("turn_key") or doc["id"]: doc for doc in stored_turns}
        summary = stored_summary[0] if stored_summary else None
        for doc in spooled:
            if doc.get("type") == "turn":
                turns[doc.get("turn_key") or doc["id"]] = doc
            elif doc.get("type") == "call" and (summary is None or doc["rev"] >= summary.get("rev", 0)):
                summary = doc
        if summary is None and not turns:
            return None
        head = CallSummaryDoc.model_validate(summary) if summary else None
        return CallTranscript(
            call_id=call_id,
            caller=head.caller if head else None,
            scenario=head.scenario if head else None,
            started_at=head.started_at if head else None,
            outcome=head.outcome if head else None,
            turns=[TranscriptTurn.model_validate(doc) for doc in sorted(turns.values(), key=turn_order)],
        )

    async def unfinished_calls(self, limit: int) -> list[str]:
        """Calls this replica's spool wrote without an outcome (its own knowledge: other replicas' calls are
        not here), least recently written first."""
        return await self.spool.partitions_without("outcome", limit)

    async def summary(self, call_id: str) -> CallSummaryDoc | None:
        """The call's summary document as Cosmos holds it now."""
        container = await self.sink.container()
        items = container.query_items(
            "SELECT * FROM c WHERE c.call_id = @id AND c.type = 'call'",
            parameters=[{"name": "@id", "value": call_id}],
            partition_key=call_id,
        )
        found = [item async for item in items]
        return CallSummaryDoc.model_validate(found[0]) if found else None
