"""A cascade stand-in for the local brain's tests: it keeps the history and per-agent scratch, runs the tool
calls the brain makes with the real catalog (`invoke_tool`) against the embedded Redis with the demo data,
and writes the history the way `voice/speech_cascade/cascade.py` does (assistant tool-call messages without
content, the turn's spoken text appended when the turn ends, the handover note a handoff writes, and the new
agent introducing itself and taking up the request at once, as `voice/speech_cascade/thinking.py` does)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from redis.asyncio import Redis

from registries.snapshot import RegistrySnapshot
from registries.templates import render_greeting
from registries.toolstore.catalog import invoke_tool
from registries.toolstore.context import ToolContext
from voice.llm.base import ChatDone, ChatEvent, ChatRequest, Message, TextDelta, ToolCall, Usage
from voice.llm.local_brain import LocalBrain
from voice.speech_cascade.records import split_closing_question


@dataclass
class Reply:
    """What the agent did for one caller turn."""

    text: str
    calls: list[tuple[str, dict[str, Any]]]
    rounds: list[list[ChatEvent]]

    @property
    def tools(self) -> list[str]:
        return [name for name, _ in self.calls]


def check_contract(events: list[ChatEvent]) -> None:
    """The stream contract: text, then tool calls, then one Usage, then exactly one ChatDone, last."""
    kinds = [type(e) for e in events]
    assert kinds.count(ChatDone) == 1 and kinds[-1] is ChatDone, kinds
    assert kinds.count(Usage) == 1 and kinds[-2] is Usage, kinds
    order = {TextDelta: 0, ToolCall: 1, Usage: 2, ChatDone: 3}
    assert [order[k] for k in kinds] == sorted(order[k] for k in kinds), kinds
    done = events[-1]
    assert isinstance(done, ChatDone)
    assert done.finish_reason == ("tool_calls" if ToolCall in kinds else "stop")


@dataclass
class SimulatedCall:
    brain: LocalBrain
    snapshot: RegistrySnapshot
    redis: Redis | None
    scenario: str
    agent: str
    today: date = field(default_factory=date.today)
    messages: list[Message] = field(default_factory=list)
    scratch: dict[str, dict[str, Any]] = field(default_factory=dict)
    session: dict[str, Any] = field(default_factory=dict)
    call_id: str = "sim-1"

    def __post_init__(self) -> None:
        self.messages.append({"role": "system", "content": f"(prompt of {self.agent})"})
        greeting = render_greeting(self.snapshot.agents[self.agent], {})
        self.messages.append({"role": "assistant", "content": greeting})

    async def round(self) -> list[ChatEvent]:
        request = ChatRequest(
            messages=list(self.messages),
            tools=self.snapshot.tools_for(self.agent, self.scenario),
            agent=self.agent,
            call_id=self.call_id,
            scratch=self.scratch.setdefault(self.agent, {}),
        )
        events = [e async for e in self.brain.stream(request)]
        check_contract(events)
        return events

    async def say(self, text: str, *, max_rounds: int = 5) -> Reply:
        """One caller turn, as the cascade runs it: tool-call messages carry no content, and what the agent
        said in the turn is appended once, at its end."""
        self.messages.append({"role": "user", "content": text})
        spoken: list[str] = []
        calls: list[tuple[str, dict[str, Any]]] = []
        rounds: list[list[ChatEvent]] = []
        held: str | None = None
        said_at_handoff = 0
        for _ in range(max_rounds):
            events = await self.round()
            rounds.append(events)
            if text_out := "".join(e.text for e in events if isinstance(e, TextDelta)):
                spoken.append(text_out)
            tool_calls = [e for e in events if isinstance(e, ToolCall)]
            if not tool_calls:
                break
            self.messages.append(
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": c.id,
                            "type": "function",
                            "function": {"name": c.name, "arguments": c.arguments},
                        }
                        for c in tool_calls
                    ],
                }
            )
            tools = {t.name: t for t in self.snapshot.tools_for(self.agent, self.scenario)}
            ctx = ToolContext(
                call_id=self.call_id,
                caller="+14255550101",
                scenario=self.scenario,
                agent=self.agent,
                session=self.session,
                redis=self.redis,
            )
            results = []
            for call in tool_calls:
                calls.append((call.name, json.loads(call.arguments)))
                result = await invoke_tool(tools[call.name], call.arguments, ctx)
                results.append(result)
                self.messages.append(
                    {"role": "tool", "tool_call_id": call.id, "content": result.to_message()}
                )
            ends = [a for a in ctx.actions if a.kind in ("hang_up", "transfer")]
            for action in ctx.actions:
                if action.kind == "handoff" and action.target:
                    # The new agent introduces itself and is asked at once; its greeting's closing question
                    # is said only if it has nothing to say about the request it was handed.
                    previous, self.agent = self.agent, action.target
                    greeting = render_greeting(self.snapshot.agents[action.target], {})
                    intro, held = split_closing_question(greeting)
                    spoken.append(intro)
                    said_at_handoff = len(spoken)
                    self.messages.append(
                        {"role": "system", "content": f"Handed over from {previous}: {action.detail}"}
                    )
            if not ends:
                continue  # ask the brain again with the results
            # Hang-up or transfer: the brain is not asked again; the tools' own words are said (a goodbye).
            spoken += [r.spoken for r in results if r.spoken and not tools[r.name].handoff]
            held = None
            break
        if held is not None and len(spoken) == said_at_handoff:
            spoken.append(held)
        if spoken:
            self.messages.append({"role": "assistant", "content": " ".join(spoken)})
        return Reply(" ".join(spoken), calls, rounds)
