"""Running a relay session on an accepted client socket: its record, agent, transcript, usage and upstream.

The session is a call record (channel `relay`) like a browser voice session's: created by POST
/api/v1/sessions, connected when its socket is accepted, ended when the socket goes. Its cost is the upstream's
`response.done` usage, written behind the session and priced like a call's; each priced increment is also
sent to the client (`relay.cost_update`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any

from fastapi import WebSocket
from starlette.websockets import WebSocketDisconnect

from apps.backend.calls.live_events import CallEventPublisher, CostUpdateEvent
from apps.backend.calls.media_listener import FLUSH_AT_END_S
from apps.backend.calls.start_agent import start_agent
from apps.backend.relay.agent_side import RelayAgent
from apps.backend.relay.limits import RelayPolicy
from apps.backend.relay.session import RelaySession
from apps.backend.relay.upstream import UpstreamTarget
from apps.backend.runtime import Runtime
from apps.backend.settings import Settings
from apps.backend.storage.call_store import CallRecord, CallStatus, utcnow
from voice.session.conversation import CallConversation
from voice.session.recorder import TurnRecorder
from voice.session.redaction import RedactionPolicy
from voice.usage.ledger import UsageLedger

log = logging.getLogger(__name__)


def relay_policy(settings: Settings) -> RelayPolicy:
    return RelayPolicy(
        queue_limit=settings.relay_queue_limit,
        heartbeat_s=settings.relay_heartbeat_seconds,
        connect_timeout_s=settings.relay_connect_timeout_seconds,
        reconnect_attempts=settings.relay_reconnect_attempts,
        events_per_second=settings.relay_client_events_per_second,
    )


class StarletteClient:
    def __init__(self, websocket: WebSocket) -> None:
        self._ws = websocket

    async def receive(self) -> str | None:
        try:
            message = await self._ws.receive()
        except (WebSocketDisconnect, RuntimeError):
            return None
        if message["type"] == "websocket.disconnect":
            return None
        text = message.get("text")
        return text if isinstance(text, str) else '{"type":"binary frames are not accepted"}'

    async def send(self, text: str) -> None:
        await self._ws.send_text(text)


async def run_relay(
    websocket: WebSocket, runtime: Runtime, record: CallRecord, target: UpstreamTarget
) -> str:
    """The session's conversation until it ends; the caller holds its media slot. Returns the end reason."""
    calls = runtime.calls
    session_id = record.call_id
    snapshot = calls.registry.pin(session_id)
    tasks: set[asyncio.Task[Any]] = set()

    def own(work: Awaitable[Any]) -> None:
        task: asyncio.Task[Any] = asyncio.ensure_future(work)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    try:
        record = await calls.store.update(session_id, _connected)
        publisher = CallEventPublisher.shared(calls.store.redis)
        publisher.status(record, "connected")
        listener = calls.call_listener(record, snapshot)
        conversation = CallConversation(
            call_id=session_id,
            caller=record.caller,
            snapshot=snapshot,
            scenario=snapshot.scenarios[record.scenario],
            agent=start_agent(snapshot, record),
            context={"caller_display_name": record.caller_display_name, "caller": record.caller},
            redis=calls.store.redis,
            clock=runtime.settings.business_clock,
        )
        recorder = TurnRecorder(
            conversation,
            calls.transcripts,
            listener,
            own=own,
            redaction=RedactionPolicy(enabled=runtime.settings.redact_transcripts),
        )
        recorder.start()
        usage = listener.usage
        ledger = usage.ledger if usage is not None else UsageLedger()
        ledger.set_agent_source(lambda: conversation.agent.name)
        relay = RelaySession(
            target=target,
            policy=relay_policy(runtime.settings),
            agent=RelayAgent(conversation, recorder),
            ledger=ledger,
            on_usage=(lambda: client_cost_update(usage.flush())) if usage is not None else lambda: None,
        )
        if usage is not None:
            usage.media_started()
        reason = "relay failed"
        try:
            reason = await relay.run(StarletteClient(websocket))
        finally:
            log.info(
                "relay session ended",
                extra={"reason": reason, "reconnects": relay.reconnects, "refused": relay.refused},
            )
            if usage is not None:
                usage.media_ended()
                usage.flush()
            await recorder.close(reason)
            await asyncio.gather(*tasks, return_exceptions=True)
            await listener.writer.close(FLUSH_AT_END_S)
            listener.cancel()  # its guidance task; the writer is flushed already
            ended = await calls.store.update(session_id, lambda r: r.end(reason))
            publisher.status(ended, "ended")
        return reason
    finally:
        calls.registry.release(session_id)


def client_cost_update(update: CostUpdateEvent | None) -> dict[str, Any] | None:
    """The call's `cost_update` as the relay client sees it: `relay.cost_update` with the increment, the running
    total and the new usage lines (the same numbers dashboards get)."""
    if update is None:
        return None
    shown = update.model_dump(mode="json", include={"currency", "increment", "total", "lines"})
    return {"type": "relay.cost_update", **shown}


def _connected(record: CallRecord) -> None:
    if not record.status.is_final:
        record.status = CallStatus.CONNECTED
        record.connected_at = record.connected_at or utcnow()
        record.add_event("relay_connected")
