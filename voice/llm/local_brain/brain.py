"""`LocalBrain`: the embedded agent brain, a `ChatModel` that needs no LLM service.

Each request is one decision (`turn.py`): call a tool, ask for one missing slot, ask to confirm, or say what
tool results mean. Per-call state lives in `request.scratch` (`state.py`); the history stays the source of
truth for tool results. Deterministic: the same request and scratch give the same events.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Iterable, Sequence
from datetime import date

from registries.toolstore.decorator import ToolSpec
from voice.expectation import Expectation
from voice.llm.base import ChatEvent, ChatRequest
from voice.llm.local_brain.dialog import read_conversation
from voice.llm.local_brain.disclosure import guard_reply
from voice.llm.local_brain.expects import pending_expectation
from voice.llm.local_brain.intake import decide_intake, without_intake
from voice.llm.local_brain.replies import events
from voice.llm.local_brain.router import IntentRouter
from voice.llm.local_brain.state import DialogState
from voice.llm.local_brain.turn import Turn
from voice.usage.amounts import UsageAmounts
from voice.usage.ledger import report


class LocalBrain:
    """The default `ChatModel` when no Azure OpenAI settings are configured.

    `router` defaults to an `IntentRouter` on the process-wide MiniLM encoder (loaded on first use, in a
    worker thread); relative dates ("last tuesday") resolve against the request's `today` (the call's business
    date), else against `today()`.
    """

    name = "local-brain"

    def __init__(self, router: IntentRouter | None = None, *, today: Callable[[], date] = date.today) -> None:
        self._router = router if router is not None else IntentRouter()
        self._today = today

    async def warm_up(self, tool_sets: Iterable[Sequence[ToolSpec]] = ()) -> None:
        """Load the encoder and embed the examples of `tool_sets` now (in a worker thread), so that the first
        caller does not wait for it (~0.3 s for the model, ~0.25 s per tool set)."""
        sets = [without_intake(tools) for tools in tool_sets]

        def load() -> None:
            _ = self._router.encoder
            for tools in sets:
                self._router.index_for(tools)

        await asyncio.to_thread(load)

    async def stream(self, request: ChatRequest) -> AsyncGenerator[ChatEvent, None]:
        # Its `Usage` event counts words, not tokens: the ledger gets the request only.
        report(self.name, "local", UsageAmounts(requests=1), agent=request.agent)
        conversation = read_conversation(request.messages)
        today = request.today or self._today()
        decision = decide_intake(request.tools, conversation, request.scratch, today)
        expects: Expectation | None = None
        if decision is None:  # no intake form open: route the turn
            state = DialogState.load(request.scratch)
            tools = without_intake(request.tools)
            turn = Turn(self._router, tools, conversation, state, today, request.agent)
            decision = await turn.decide()
            state.save(request.scratch)
            expects = pending_expectation(state, turn.tools)
        # Fail-closed: no identifier this call did not bring (an example value, another customer's record).
        text = guard_reply(
            decision.text,
            request.messages,
            extra=[args for _, args in decision.calls],
            scratch=request.scratch,
        )
        ids = conversation.next_call_ids(len(decision.calls))
        calls = [(call_id, name, args) for call_id, (name, args) in zip(ids, decision.calls, strict=True)]
        for event in events(text, calls, request.messages, expects):
            yield event


LocalAgentBrain = LocalBrain
"""The name `apps/backend/providers.py` imports."""

__all__ = ["LocalAgentBrain", "LocalBrain"]
