"""One relay session: a client WebSocket relayed to the realtime upstream, with the agent on our side.

- Client events are validated (`client_events`), throttled (a token bucket, `limits`), and sent upstream in
  order; while the upstream is not ready they wait in a bounded queue and are flushed, in order, once it is.
- The upstream is opened with a timeout and kept alive by pings (`upstream`); when it drops (or never
  opens) it is reopened with exponential backoff, up to `reconnect_attempts` times in a row. Each new upstream
  session is restored before anything else is sent: the agent's instructions and tools, the conversation so
  far as text items, and the response that was cut short, asked for again.
- The client is told what happens: `relay.ready`, `relay.reconnecting`, and `error` events (codes below).
- Function calls are run by the scenario's tool catalog (`agent_side`), answered upstream, and a new response
  is asked for; handoffs switch the agent's session. The transcript is written like a call's.
- Usage from each `response.done` is counted once per response id (and an input transcription's once per
  item), so nothing replayed after a reconnect counts twice; each new amount is priced and sent to the client as one `relay.cost_update`.

Every task here is owned by the session and cancelled when it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from typing import Any, Protocol

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from apps.backend.relay.agent_side import (
    RelayAgent,
    response_output,
    transcription_model,
)
from apps.backend.relay.client_events import (
    ClientEventError,
    ItemCreate,
    ResponseCreate,
    SessionUpdate,
    error_event,
    parse_client_event,
    server_owned_fields,
)
from apps.backend.relay.limits import MAX_CLIENT_OUTBOX, RATE_LIMIT_REPORT_EVERY, RelayPolicy, TokenBucket
from apps.backend.relay.upstream import (
    UpstreamRefused,
    UpstreamTarget,
    UpstreamUnavailable,
    close_reason,
    open_upstream,
)
from apps.backend.storage.call_store import utcnow
from voice.llm.base import ToolCall
from voice.usage.amounts import (
    UsageAmounts,
    realtime_amounts,
    spoken_characters,
    transcription_amounts,
)
from voice.usage.ledger import UsageLedger

log = logging.getLogger(__name__)


class ClientChannel(Protocol):
    async def receive(self) -> str | None:
        """The next text event; None once the client has gone."""
        ...

    async def send(self, text: str) -> None: ...


Opener = Callable[..., Awaitable[ClientConnection]]


class RelaySession:
    def __init__(
        self,
        *,
        target: UpstreamTarget,
        policy: RelayPolicy,
        agent: RelayAgent,
        ledger: UsageLedger,
        on_usage: Callable[[], dict[str, Any] | None] = lambda: None,
        opener: Opener = open_upstream,
    ) -> None:
        self._target = target
        self._policy = policy
        self._agent = agent
        self._ledger = ledger
        self._on_usage = on_usage
        self._opener = opener
        self._queue: deque[dict[str, Any]] = deque()
        self._send_lock = asyncio.Lock()
        self._link: ClientConnection | None = None
        self._outbox: asyncio.Queue[str | None] = asyncio.Queue(MAX_CLIENT_OUTBOX)
        self._client_session: dict[str, Any] = {}
        self._in_flight: str | None = None  # the response being generated (response.created .. done)
        self._response_started: datetime = utcnow()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._ending = asyncio.Event()
        self._end_after_response = False
        self._progress = False  # the current upstream completed a response
        self._client_gone = False
        loop = asyncio.get_running_loop()
        self._bucket = TokenBucket(policy.events_per_second, policy.events_per_second * 2, loop.time)
        self.throttled = 0
        self.refused = 0
        self.reconnects = 0

    # --- running -----------------------------------------------------------------------------------------
    async def run(self, client: ClientChannel) -> str:
        """Until the client leaves, the upstream is lost for good, or the agent ends the session: why."""
        parts = {
            self._own(self._write_client(client)): "client is not reading",
            self._own(self._read_client(client)): "client left",
            self._own(self._run_upstream()): "upstream lost",
            self._own(self._ending.wait()): "agent ended the session",
        }
        try:
            done, _ = await asyncio.wait(parts, return_when=asyncio.FIRST_COMPLETED)
            finished = next(iter(done))
            result = finished.result() if not finished.cancelled() and finished.exception() is None else None
            reason = result if isinstance(result, str) else parts[finished]
        finally:
            writer = next(task for task, why in parts.items() if why == "client is not reading")
            await self._stop(writer)
        return reason

    async def _stop(self, writer: asyncio.Task[Any]) -> None:
        """Let the client have what was said to it (bounded), then cancel everything and close upstream."""
        with contextlib.suppress(asyncio.QueueFull):
            self._outbox.put_nowait(None)
        if not writer.done():
            with contextlib.suppress(TimeoutError, asyncio.CancelledError, Exception):
                await asyncio.wait_for(asyncio.shield(writer), 1.0)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._link is not None:
            with contextlib.suppress(Exception):
                await self._link.close()
            self._link = None

    def _own(self, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # --- the client side ---------------------------------------------------------------------------------
    def _tell(self, event: dict[str, Any]) -> None:
        self._tell_raw(json.dumps(event, separators=(",", ":")))

    def _tell_raw(self, text: str) -> None:
        try:
            self._outbox.put_nowait(text)
        except asyncio.QueueFull:
            self._client_gone = True
            self._ending.set()  # a client that does not read cannot be relayed to

    async def _write_client(self, client: ClientChannel) -> None:
        while (text := await self._outbox.get()) is not None:
            await client.send(text)

    async def _read_client(self, client: ClientChannel) -> None:
        while (text := await client.receive()) is not None:
            if not self._bucket.take():
                self.throttled += 1
                if self.throttled % RATE_LIMIT_REPORT_EVERY == 1:
                    message = (
                        f"more than {self._policy.events_per_second:g} events per second: events dropped"
                    )
                    self._tell(error_event("rate_limited", message))
                continue
            try:
                event, raw = parse_client_event(text)
            except ClientEventError as exc:
                self.refused += 1
                self._tell(error_event(exc.code, exc.message, exc.event_id))
                continue
            if isinstance(event, SessionUpdate | ResponseCreate):
                owned = server_owned_fields(event)
                body = raw.get("session") if isinstance(event, SessionUpdate) else raw.get("response")
                for name in owned:
                    body.pop(name, None)  # type: ignore[union-attr]  # present, so body is a dict
                if owned:
                    self._tell(
                        error_event(
                            "server_owned", f"set by the agent, ignored: {', '.join(owned)}", event.event_id
                        )
                    )
                if isinstance(event, SessionUpdate):
                    self._client_session.update(raw["session"])
                    raw = self._agent.session_update(self._client_session, self._target.dialect)
            await self._submit(raw)

    # --- sending upstream --------------------------------------------------------------------------------
    async def _submit(self, event: dict[str, Any]) -> None:
        """Send now if the upstream is ready and nothing waits before this event; else queue (bounded)."""
        async with self._send_lock:
            if self._link is not None and not self._queue and await self._send(self._link, event):
                return
            if len(self._queue) >= self._policy.queue_limit:
                self._tell(
                    error_event(
                        "queue_full", f"upstream not ready and {self._policy.queue_limit} events wait"
                    )
                )
                return
            self._queue.append(event)

    async def _send(self, link: ClientConnection, event: dict[str, Any]) -> bool:
        try:
            await link.send(json.dumps(event, separators=(",", ":")))
        except ConnectionClosed:
            return False
        self._sent(event)
        return True

    def _sent(self, event: dict[str, Any]) -> None:
        """The upstream has it: what the client said is now part of the conversation."""
        if event.get("type") == "conversation.item.create":
            item = event.get("item") or {}
            if item.get("role") == "user":
                self._agent.caller_said(ItemCreate.model_validate(event).item.text())

    # --- the upstream side -------------------------------------------------------------------------------
    async def _run_upstream(self) -> str:
        attempt = 0
        interrupted = False
        while True:
            try:
                link = await self._opener(
                    self._target,
                    timeout_s=self._policy.connect_timeout_s,
                    heartbeat_s=self._policy.heartbeat_s,
                )
                resumed = await self._restore(link, replay=self.reconnects > 0, resume=interrupted)
            except UpstreamRefused as exc:
                self._tell(error_event("upstream_refused", str(exc)))
                return "upstream refused the key"
            except (UpstreamUnavailable, ConnectionClosed) as exc:
                attempt += 1
                reason = (
                    str(exc) if isinstance(exc, UpstreamUnavailable) else "upstream closed while restoring"
                )
                if not await self._retry(attempt, reason, interrupted):
                    return "upstream unavailable"
                continue
            self._tell(
                {
                    "type": "relay.ready",
                    "upstream": self._target.describe(),
                    "reconnects": self.reconnects,
                    "restored_items": resumed[0],
                    "resumed_response": resumed[1],
                }
            )
            self._progress = False
            reason = await self._pump(link)
            self._link = None
            interrupted = self._in_flight is not None
            self._in_flight = None
            self.reconnects += 1
            # Drops in a row count towards the limit; an upstream that completed a response made progress.
            attempt = 1 if self._progress else attempt + 1
            log.warning("relay upstream dropped", extra={"reason": reason, "mid_response": interrupted})
            if not await self._retry(attempt, reason, interrupted):
                return "upstream lost"

    async def _retry(self, attempt: int, reason: str, interrupted: bool) -> bool:
        """Tell the client and wait before attempt `attempt`; False when the policy says give up."""
        if attempt > self._policy.reconnect_attempts:
            self._tell(error_event("upstream_unavailable", f"{reason}; gave up after {attempt} attempts"))
            return False
        delay = self._policy.backoff_s(attempt)
        self._tell(
            {
                "type": "relay.reconnecting",
                "attempt": attempt,
                "reason": reason,
                "retry_in_ms": round(delay * 1000),
                "response_interrupted": interrupted,
            }
        )
        await asyncio.sleep(delay)
        return True

    async def _restore(self, link: ClientConnection, *, replay: bool, resume: bool) -> tuple[int, bool]:
        """Before anything else: the agent's session, the conversation so far, the cut response; then what
        the client sent meanwhile, in order. Raises ConnectionClosed if the new link dies on the way."""
        async with self._send_lock:
            dialect = self._target.dialect
            await link.send(json.dumps(self._agent.session_update(self._client_session, dialect)))
            items = self._agent.replay_items(dialect) if replay else []
            for item in items:
                await link.send(json.dumps(item))
            if resume:
                await link.send(json.dumps({"type": "response.create"}))
            while self._queue:
                if not await self._send(link, self._queue[0]):
                    raise ConnectionClosed(None, None)
                self._queue.popleft()
            self._link = link
        return len(items), resume

    async def _pump(self, link: ClientConnection) -> str:
        try:
            async for message in link:
                if isinstance(message, str):
                    self._tell_raw(message)
                    self._observe(message)
        except ConnectionClosed:
            pass
        received, sent = link.protocol.close_rcvd, link.protocol.close_sent
        with contextlib.suppress(Exception):
            await link.close()
        return close_reason(received, sent)

    def _observe(self, message: str) -> None:
        try:
            event = json.loads(message)
        except json.JSONDecodeError:
            return
        if not isinstance(event, dict):
            return
        kind = event.get("type")
        found = event.get("response")
        response: dict[str, Any] = found if isinstance(found, dict) else {}
        if kind == "response.created":
            self._in_flight = str(response.get("id") or "?")
            self._response_started = utcnow()
        elif kind == "response.done":
            self._in_flight = None
            self._progress = True
            self._count_usage(response)
            out = response_output(response)
            if out.calls:
                self._own(self._answer_calls(out.calls, out.text, self._response_started))
            else:
                self._agent.agent_said(out.text, [], self._response_started)
                if self._end_after_response:
                    self._ending.set()
        elif kind == "conversation.item.input_audio_transcription.completed":
            transcript = event.get("transcript")
            if isinstance(transcript, str):
                self._agent.caller_said(transcript)
            heard = transcription_amounts(event.get("usage"))
            if heard is not None:
                item = event.get("item_id")
                key = f"transcription:{item}" if isinstance(item, str) else None
                self._record(transcription_model(self._client_session), heard, key)

    def _count_usage(self, response: dict[str, Any]) -> None:
        raw = response.get("usage")
        if raw is None and self._target.provider == "embedded-realtime":
            # The embedded server has no tokens: its real work is the characters it spoke (at no price).
            amounts = UsageAmounts(requests=1, tts_characters=spoken_characters(response))
        else:
            amounts = realtime_amounts(raw)
        key = response.get("id") if isinstance(response.get("id"), str) else None
        self._record(self._target.model, amounts, key)

    def _record(self, model: str, amounts: UsageAmounts, key: str | None) -> None:
        if self._ledger.record(self._target.provider, model, amounts, key=key):
            update = self._on_usage()  # the new amounts priced: the client sees its cost as it grows
            if update is not None:
                self._tell(update)

    async def _answer_calls(self, calls: list[ToolCall], text: str, started_at: datetime) -> None:
        round_ = await self._agent.run_tools(calls)
        self._agent.agent_said(text, round_.records, started_at)
        self._tell(
            {
                "type": "relay.tools_ran",
                "tools": [{"name": r.name, "call_id": r.id, "ok": r.ok} for r in round_.records],
                "agent": self._agent.conversation.agent.name,
            }
        )
        for output in round_.outputs:
            await self._submit(output)
        if round_.handed_off:
            await self._submit(self._agent.session_update(self._client_session, self._target.dialect))
        self._end_after_response = self._end_after_response or round_.ends_session
        await self._submit({"type": "response.create"})
