"""The cascade's brain/tool loop for one caller turn, and the tool runs it leaves behind when interrupted.

A reply to a caller turn not yet committed (started early, or not yet heard for long) streams the brain's
first round with the caller's words appended (not yet in the history), on a copy of the brain's per-call
state kept only when the turn is committed; tools wait until the turn is over, and commit it.

Clauses are spoken as soon as the brain completes them. Tools run in tasks this object owns, not the reply:
a barge-in cancels the reply, but a tool that already started completes, its result still lands in the
agent's history, and a handoff it asked for still moves the call (quietly, since the caller is talking).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import functools
import logging
import time
from typing import Any, Protocol

from registries.toolstore.catalog import ToolCatalog, ToolResult
from registries.toolstore.context import HandoffTarget, ToolContext
from voice.llm.base import ChatDone, ChatModel, ChatRequest, TextDelta, ToolCall
from voice.session.config import CallConfig
from voice.session.conversation import CallConversation
from voice.session.handoffs import handoff_edge
from voice.session.tool_runs import run_tool_call, tool_calls_message, tool_record
from voice.speech_cascade.agent_profile import agent_voice
from voice.speech_cascade.records import ReplyState, before_first_clause, split_closing_question
from voice.tts.clauses import ClauseSplitter

log = logging.getLogger(__name__)


class ThinkingHost(Protocol):
    """What the loop needs from its cascade."""

    def speaker_busy(self, state: ReplyState) -> bool:
        """Something of this turn is still being said (then no holding phrase is needed)."""
        ...

    async def agent_changed(self, previous: str, current: str, *, quiet: bool) -> None:
        """The conversation moved to another agent (turn-taking and observers follow)."""
        ...

    async def committed(self, state: ReplyState) -> None:
        """Wait until the caller's turn is over (a reply started early), then commit it: their words in the
        history (tools are about to act on them)."""
        ...


def _replace_contents(target: dict[str, Any], source: dict[str, Any]) -> None:
    target.clear()
    target.update(source)


class TurnThinker:
    def __init__(
        self,
        conversation: CallConversation,
        llm: ChatModel,
        config: CallConfig,
        host: ThinkingHost,
    ) -> None:
        self._conv = conversation
        self._llm = llm
        self._config = config
        self._host = host
        self._pending_tools: set[asyncio.Task[tuple[ToolCall, ToolResult]]] = set()
        self._interrupted_rounds: list[tuple[asyncio.Future[Any], ToolContext, ToolCatalog]] = []

    @property
    def pending(self) -> set[asyncio.Task[tuple[ToolCall, ToolResult]]]:
        """Tool runs still going (the cascade cancels them when the call ends)."""
        return self._pending_tools

    async def think(self, state: ReplyState) -> None:
        """Brain -> tools -> brain rounds for one caller turn, speaking clauses into `state.utterance`."""
        conv = self._conv
        for _round in range(self._config.max_tool_rounds + 1):
            agent = conv.agent
            voice = agent_voice(agent)
            splitter = ClauseSplitter()
            calls: list[ToolCall] = []
            asked = time.monotonic()
            # A reply to a turn not yet committed may still be dropped (the caller goes on): the brain gets a
            # copy of its per-call state, kept only once the turn is committed. Otherwise a dropped "yes," would
            # have used up the pending confirmation before the caller's whole "yes, that's right, go ahead".
            live_scratch = conv.scratch_for_agent()
            provisional = state.pending_caller is not None
            scratch = copy.deepcopy(live_scratch) if provisional else live_scratch
            request = ChatRequest(
                messages=state.brain_messages(conv.messages()),
                tools=list(conv.catalog().values()),
                model=agent.model,
                agent=agent.name,
                call_id=conv.call_id,
                scratch=scratch,
                today=conv.clock.today(),
            )
            try:
                async for event in self._llm.stream(request):
                    if state.llm_first_token_ms is None and isinstance(event, TextDelta | ToolCall):
                        state.llm_first_token_ms = (time.monotonic() - asked) * 1000
                    if isinstance(event, TextDelta):
                        for clause in splitter.feed(event.text):
                            state.utterance.add(clause, voice)
                    elif isinstance(event, ToolCall):
                        calls.append(event)
                    elif isinstance(event, ChatDone):
                        state.expects = event.expects  # the last round's question is the one the caller hears
                        break
                if tail := splitter.flush():
                    state.utterance.add(tail, voice)
            finally:
                state.llm_ms += before_first_clause(state, asked, time.monotonic())
            if provisional:
                keep = functools.partial(_replace_contents, live_scratch, scratch)
                if state.pending_caller is None:
                    keep()  # committed while the brain streamed
                else:
                    state.on_commit.append(keep)  # a dropped reply's copy is never kept
            if not calls:
                if state.held_question is not None:
                    if len(state.utterance.clauses) == state.clauses_at_handoff:
                        state.utterance.add(state.held_question, voice)  # the new agent had nothing to add
                    elif state.kind == "greeting":
                        state.kind = "reply"  # it answered the request it was handed
                state.held_question = None
                return
            await self._host.committed(state)  # tools act on the world: only once the turn is really over
            conv.history().append(tool_calls_message(calls))
            if not await self._run_tools(state, calls):
                return  # a handoff or an end of call: nothing more to say in this turn
        log.warning("tool round limit reached", extra={"rounds": self._config.max_tool_rounds})
        state.utterance.add(
            "Sorry, that is taking too long. Could you ask me again?", agent_voice(conv.agent)
        )

    async def settle(self) -> None:
        """Before asking the brain again, let tools from an interrupted turn finish (their results are part of
        the history the brain must see, and every tool call needs its tool message)."""
        if self._pending_tools:
            await asyncio.gather(*list(self._pending_tools), return_exceptions=True)
        rounds, self._interrupted_rounds = self._interrupted_rounds, []
        for gathered, ctx, catalog in rounds:
            with contextlib.suppress(Exception):
                await gathered
            await self._late_actions(ctx, catalog)

    async def _run_tools(self, state: ReplyState, calls: list[ToolCall]) -> bool:
        """Run one round of tool calls. True: ask the brain again; False: this turn's talking is done."""
        conv = self._conv
        agent = conv.agent.name
        catalog = conv.catalog()
        history = conv.history()
        ctx = conv.tool_context()
        started = time.monotonic()
        tasks = []
        for call in calls:
            task = asyncio.create_task(
                run_tool_call(
                    catalog, call, ctx, history, agent=agent, timeout_s=self._config.tool_timeout_s
                ),
                name=f"tool:{call.name}:{conv.call_id}",
            )
            self._pending_tools.add(task)
            task.add_done_callback(self._pending_tools.discard)
            tasks.append(task)
        gathered = asyncio.gather(*tasks)
        try:
            done, _ = await asyncio.wait({gathered}, timeout=self._config.holding_after_s)
            if not done and not self._host.speaker_busy(state):
                state.utterance.add(self._config.holding_phrase, agent_voice(conv.agent))
            results: list[tuple[ToolCall, ToolResult]] = await asyncio.shield(gathered)
        except asyncio.CancelledError:
            # Barged in while tools ran: they finish on their own; a handoff they asked for still happens.
            self._interrupted_rounds.append((gathered, ctx, catalog))
            raise
        finally:
            state.tools_ms += before_first_clause(state, started, time.monotonic())
        for call, result in results:
            state.tool_records.append(tool_record(call, result))
            conv.tools_called.append(call.name)
        again = True
        for action in ctx.actions:
            if action.kind == "handoff" and action.target:
                # The new agent is asked at once (after an announced handoff, once it has introduced
                # itself): the request that caused the handoff is answered in this turn, not dropped.
                await self._hand_off(state, handoff_edge(catalog, action.target), action.detail)
            elif action.kind in ("hang_up", "transfer"):
                state.after.append((action.kind, action.detail))
                state.held_question = None
                again = False
        if not again:
            # The brain is not asked again, so say what the tools prepared for the caller themselves
            # (a goodbye, "connecting you now"); a handoff's words come from the new agent's greeting.
            for _call, result in results:
                spec = catalog.get(result.name)
                if result.spoken and not (spec is not None and spec.handoff is not None):
                    state.utterance.add(result.spoken, agent_voice(conv.agent))
        return again

    async def _hand_off(self, state: ReplyState, handoff: HandoffTarget, reason: str) -> None:
        conv = self._conv
        previous = conv.agent.name
        returning = conv.hand_off(handoff, reason)
        state.agent = handoff.agent  # the rest of this turn is the new agent's
        log.info("handoff", extra={"from": previous, "to": handoff.agent, "type": handoff.type})
        await self._host.agent_changed(previous, handoff.agent, quiet=False)
        if handoff.type == "announced":
            # The new agent greets in its own voice; a turn that is only that greeting is recorded as one.
            if not state.utterance.clauses:
                state.kind = "greeting"
            try:
                greeting = conv.greeting(returning=returning)
            except Exception:
                log.exception("greeting template failed; using a plain greeting")
                greeting = "Hello, how can I help?"
            # Its closing question ("What happened?") waits: asked only if the new agent has nothing to say
            # about the request it was handed.
            introduction, state.held_question = split_closing_question(greeting)
            state.utterance.add(introduction, agent_voice(conv.agent))
            state.clauses_at_handoff = len(state.utterance.clauses)

    async def _late_actions(self, ctx: ToolContext, catalog: ToolCatalog) -> None:
        """Actions of tools that completed after the caller interrupted their turn.

        A handoff still moves the call (quietly: the caller is talking, so no greeting). Hang-up and transfer
        are dropped: the caller interrupted them, and would be cut off mid-sentence.
        """
        conv = self._conv
        for action in ctx.actions:
            if action.kind == "handoff" and action.target and action.target != conv.agent.name:
                previous = conv.agent.name
                conv.hand_off(handoff_edge(catalog, action.target), action.detail)
                log.info("handoff after barge-in", extra={"from": previous, "to": action.target})
                await self._host.agent_changed(previous, action.target, quiet=True)
            elif action.kind in ("hang_up", "transfer"):
                log.info("tool action dropped: the caller interrupted it", extra={"action": action.kind})
