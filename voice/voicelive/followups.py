"""What happens after a realtime response asked for function calls: run them, hand the outputs back, then
continue the conversation (a new response, a handoff with the new agent's greeting, or the end of the call).

A barge-in while tools run does not stop them (their outputs still reach the session and the history), but
the interrupted turn gets no new response: the caller is talking, and the server answers that instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from registries.toolstore.catalog import ToolCatalog, ToolResult
from registries.toolstore.context import ToolAction
from voice.llm.base import ToolCall
from voice.speech_cascade.records import handoff_edge, tool_record
from voice.voicelive.responses import ResponseTurn
from voice.voicelive.tool_runner import output_item, run_calls

if TYPE_CHECKING:
    from voice.voicelive.orchestrator import VoiceLiveOrchestrator

log = logging.getLogger(__name__)


class ToolFollowUps:
    def __init__(self, orchestrator: VoiceLiveOrchestrator) -> None:
        self._orch = orchestrator
        self._carried: ResponseTurn | None = None
        """A silent function-call response: its tool records and caller turn go to the response that
        speaks the result, so the transcript has one agent turn per caller turn, like the cascade's."""

    # --- carrying records to the next response -----------------------------------------------------
    def adopt(self, state: ResponseTurn) -> None:
        carried, self._carried = self._carried, None
        if carried is not None:
            state.tool_records[:0] = carried.tool_records
            state.caller = state.caller or carried.caller

    def flush_carried(self) -> None:
        """The call ended before the result was spoken: write the tool calls down on their own."""
        carried, self._carried = self._carried, None
        if carried is not None:
            carried.recorded = False
            self._orch.complete(carried)

    # --- the follow-up itself ----------------------------------------------------------------------
    async def run(self, state: ResponseTurn, epoch: int) -> None:
        orch = self._orch
        conv = orch.conversation
        agent = conv.agent.name
        catalog = conv.catalog()
        ctx = conv.tool_context()
        calls = list(state.calls.values())
        results = await run_calls(
            catalog, calls, ctx, conv.history(agent), timeout_s=orch.config.tool_timeout_s, agent=agent
        )
        records = [tool_record(call, result) for call, result in results]
        conv.tools_called.extend(call.name for call in calls)
        for call, result in results:
            item = output_item(call, result)
            await orch.send(
                "conversation.item.create", lambda c, item=item: c.conversation.item.create(item=item)
            )
        interrupted = orch.epoch != epoch or orch.closed
        handoff = next((a for a in ctx.actions if a.kind == "handoff" and a.target), None)
        ending = next((a for a in ctx.actions if a.kind in ("hang_up", "transfer")), None)
        speaks_next = not interrupted and (ending is None or handoff is not None)
        if speaks_next and not state.text:
            state.tool_records.extend(records)
            self._carried = _silent_copy(state)
            state.tool_records.clear()
            state.caller = None
        else:
            state.tool_records.extend(records)
        orch.settle(state)
        if handoff is not None and handoff.target != conv.agent.name:
            await self._hand_off(catalog, handoff, interrupted=interrupted)
        elif ending is not None:
            if interrupted:
                log.info("tool action dropped: the caller interrupted it", extra={"action": ending.kind})
            else:
                await self._end(ending, results, catalog, epoch)
        elif not interrupted:
            await orch.request_response("reply")

    async def _hand_off(self, catalog: ToolCatalog, action: ToolAction, *, interrupted: bool) -> None:
        orch = self._orch
        conv = orch.conversation
        assert action.target is not None
        edge = handoff_edge(catalog, action.target)
        previous = conv.agent.name
        returning = conv.hand_off(edge, action.detail)
        log.info(
            "handoff", extra={"from": previous, "to": edge.agent, "type": edge.type, "quiet": interrupted}
        )
        if orch.observer is not None:
            with contextlib.suppress(Exception):
                await orch.observer.on_agent_changed(previous, edge.agent)
        session = orch.session_config()
        await orch.send("session.update", lambda c: c.session.update(session=session))
        if interrupted:
            return  # the caller is talking: no greeting over them; the new agent answers what they say
        if edge.type == "announced":
            try:
                greeting = conv.greeting(returning=returning)
            except Exception:
                log.exception("greeting template failed; using a plain greeting")
                greeting = "Hello, how can I help?"
            await orch.request_response("greeting", greeting)
        else:
            await orch.request_response("reply")

    async def _end(
        self, action: ToolAction, results: list[tuple[ToolCall, ToolResult]], catalog: ToolCatalog, epoch: int
    ) -> None:
        """Say what the tool prepared (a goodbye, "connecting you now"), let it play out, then act."""
        orch = self._orch
        spoken = " ".join(
            result.spoken
            for _call, result in results
            if result.spoken and not (result.name in catalog and catalog[result.name].handoff is not None)
        )
        if spoken:
            await orch.say(spoken, "reply")
        elif orch.playout is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                async with asyncio.timeout(orch.settings.response_timeout_s):
                    await orch.playout.wait_idle()
        if orch.epoch != epoch or orch.closed:
            log.info("tool action dropped: the caller interrupted it", extra={"action": action.kind})
            return
        if action.kind == "hang_up":
            await orch.end_call("agent ended the call", action.detail)
            return
        try:
            ok = await orch.call_control.transfer_to_human(action.detail)
        except Exception:
            log.exception("transfer failed")
            ok = False
        if ok:
            orch.end_reason = "transferred to a human"
        else:
            await orch.say(orch.config.transfer_failed, "apology")


def _silent_copy(state: ResponseTurn) -> ResponseTurn:
    return ResponseTurn(
        response_id=state.response_id,
        agent=state.agent,
        kind=state.kind,
        caller=state.caller,
        started_at=state.started_at,
        tool_records=list(state.tool_records),
        done=True,
    )
