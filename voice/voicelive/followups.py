"""What happens after a realtime response asked for function calls: run them, hand the outputs back, then
continue the conversation (a new response, a handoff with the new agent's greeting, or the end of the call).

A barge-in while tools run does not stop them (their outputs still reach the session and the history), but
the interrupted turn gets no new response: the caller is talking, and the server answers that instead.
"""

from __future__ import annotations

import logging
from typing import Protocol

from registries.toolstore.catalog import ToolCatalog, ToolResult
from registries.toolstore.context import ToolAction
from voice.llm.base import ToolCall
from voice.session.conversation import CallConversation
from voice.session.handoffs import handoff_edge
from voice.session.tool_runs import tool_record
from voice.voicelive.responses import ResponseTurn
from voice.voicelive.speaker import Speaker
from voice.voicelive.tool_runner import output_item, run_calls
from voice.voicelive.turn_book import TurnBook

log = logging.getLogger(__name__)


class FollowUpHost(Protocol):
    """What the follow-ups need from the call itself (the orchestrator implements it)."""

    @property
    def conversation(self) -> CallConversation: ...

    def interrupted_since(self, epoch: int) -> bool:
        """The caller took the floor (or the call ended) after `epoch`."""
        ...

    async def agent_changed(self, previous: str) -> None:
        """The conversation handed off: tell the observer and reconfigure the session for the new agent."""
        ...

    async def wait_played(self) -> None:
        """Until what was queued has played out (bounded)."""
        ...

    async def end_call(self, outcome: str, reason: str) -> None: ...

    async def transfer_to_human(self, reason: str) -> None:
        """Transfer; on failure the caller hears an apology and the call goes on."""
        ...


class ToolFollowUps:
    def __init__(
        self, host: FollowUpHost, book: TurnBook, speaker: Speaker, *, tool_timeout_s: float
    ) -> None:
        self._host = host
        self._book = book
        self._speaker = speaker
        self._tool_timeout_s = tool_timeout_s
        self._running = 0

    @property
    def busy(self) -> bool:
        """Tools (or what follows them) are running."""
        return self._running > 0

    async def run(self, state: ResponseTurn, epoch: int) -> None:
        self._running += 1
        try:
            await self._run(state, epoch)
        finally:
            self._running -= 1

    async def _run(self, state: ResponseTurn, epoch: int) -> None:
        host = self._host
        conv = host.conversation
        agent = conv.agent.name
        catalog = conv.catalog()
        ctx = conv.tool_context()
        calls = list(state.calls.values())
        results = await run_calls(
            catalog, calls, ctx, conv.history(agent), timeout_s=self._tool_timeout_s, agent=agent
        )
        conv.tools_called.extend(call.name for call in calls)
        for call, result in results:
            await self._speaker.tell(output_item(call, result))
        interrupted = host.interrupted_since(epoch)
        handoff = next((a for a in ctx.actions if a.kind == "handoff" and a.target), None)
        ending = next((a for a in ctx.actions if a.kind in ("hang_up", "transfer")), None)
        closing_line = _closing_line(results, catalog) if ending is not None and handoff is None else ""
        # The next response speaks for these tools (an answer, a greeting, or the tool's own closing line):
        # their records go on that turn, so the transcript has no empty agent turn.
        speaks_next = not interrupted and (ending is None or handoff is not None or bool(closing_line))
        self._book.tools_ran(state, [tool_record(c, r) for c, r in results], answered_next=speaks_next)
        if handoff is not None and handoff.target != conv.agent.name:
            await self._hand_off(catalog, handoff, interrupted=interrupted)
        elif ending is not None:
            if interrupted:
                log.info("tool action dropped: the caller interrupted it", extra={"action": ending.kind})
            else:
                await self._end(ending, closing_line, epoch)
        elif not interrupted:
            await self._speaker.request_response("reply")

    async def _hand_off(self, catalog: ToolCatalog, action: ToolAction, *, interrupted: bool) -> None:
        host = self._host
        conv = host.conversation
        assert action.target is not None
        edge = handoff_edge(catalog, action.target)
        previous = conv.agent.name
        returning = conv.hand_off(edge, action.detail)
        log.info(
            "handoff", extra={"from": previous, "to": edge.agent, "type": edge.type, "quiet": interrupted}
        )
        await host.agent_changed(previous)
        if interrupted:
            return  # the caller is talking: no greeting over them; the new agent answers what they say
        if edge.type == "announced":
            await self._speaker.greet(returning=returning)
        else:
            await self._speaker.request_response("reply")

    async def _end(self, action: ToolAction, spoken: str, epoch: int) -> None:
        """Say what the tool prepared (a goodbye, "connecting you now"), let it play out, then act."""
        host = self._host
        if spoken:
            await self._speaker.say(spoken, "reply")
        else:
            await host.wait_played()
        if host.interrupted_since(epoch):
            log.info("tool action dropped: the caller interrupted it", extra={"action": action.kind})
            return
        if action.kind == "hang_up":
            await host.end_call("agent ended the call", action.detail)
        else:
            await host.transfer_to_human(action.detail)


def _closing_line(results: list[tuple[ToolCall, ToolResult]], catalog: ToolCatalog) -> str:
    """What ending tools (hang-up, transfer) prepared for the caller to hear before the call ends."""
    return " ".join(
        result.spoken
        for _call, result in results
        if result.spoken and not (result.name in catalog and catalog[result.name].handoff is not None)
    )
