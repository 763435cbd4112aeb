"""The multi-agent side of one call, shared by every orchestrator and channel: who is talking, each agent's
history, shared context and handoffs.

Each agent keeps its own history (its tool calls stay its own). Caller and agent *text* also goes to a
call-wide log; an agent entered through a `share_context` handoff first catches up on the log entries it has
not seen, so the new agent knows what the caller already said. Context vars (caller, handoff reason, the
previous agent) are rendered into prompts and greetings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from registries.agentstore.schema import AgentSpec
from registries.scenariostore.schema import ScenarioSpec
from registries.snapshot import RegistrySnapshot
from registries.templates import render_greeting, render_prompt, render_return_greeting
from registries.toolstore.catalog import ToolCatalog
from registries.toolstore.clock import BusinessClock
from registries.toolstore.context import HandoffTarget, ToolContext
from voice.llm.base import Message


@dataclass
class _LogEntry:
    agent: str
    message: Message


class ConversationState(BaseModel):
    """Everything a call's conversation needs to carry on elsewhere (another worker, after a restart):
    what `CallConversation.snapshot_state` writes and `CallConversation.restore` reads. JSON-safe."""

    call_id: str
    registry_version: str
    scenario: str
    agent: str
    context: dict[str, Any] = {}
    session: dict[str, Any] = {}
    histories: dict[str, list[Message]] = {}
    scratch: dict[str, dict[str, Any]] = {}
    visited: list[str] = []
    tools_called: list[str] = []
    log: list[tuple[str, Message]] = []
    seen: dict[str, int] = {}


@dataclass
class CallConversation:
    """Mutable, per call. Not shared: each call builds its own from the snapshot pinned for it."""

    call_id: str
    caller: str
    snapshot: RegistrySnapshot
    scenario: ScenarioSpec
    agent: AgentSpec
    context: dict[str, Any] = field(default_factory=dict)
    session: dict[str, Any] = field(default_factory=dict)
    """Tool-visible per-call state (verified identity, slots), shared by every agent of the call."""
    redis: Any = None
    clock: BusinessClock = field(default_factory=BusinessClock)
    """What "today" is for this call: the tools, the system prompt and the local brain all read it."""
    histories: dict[str, list[Message]] = field(default_factory=dict)
    scratch: dict[str, dict[str, Any]] = field(default_factory=dict)
    visited: list[str] = field(default_factory=list)
    tools_called: list[str] = field(default_factory=list)
    _log: list[_LogEntry] = field(default_factory=list)
    _seen: dict[str, int] = field(default_factory=dict)
    _consent_said: bool = False

    def __post_init__(self) -> None:
        self.visited.append(self.agent.name)
        self._seen[self.agent.name] = 0

    # --- what the brain sees -----------------------------------------------------------------
    def history(self, agent: str | None = None) -> list[Message]:
        return self.histories.setdefault(agent or self.agent.name, [])

    def system_prompt(self) -> Message:
        # A model cannot turn "yesterday" into a date, or tell whether a date is in the future, without today's.
        prompt = render_prompt(self.agent, self.context, self.scenario)
        return {"role": "system", "content": self.clock.with_prompt_line(prompt)}

    def messages(self) -> list[Message]:
        return [self.system_prompt(), *self.history()]

    def catalog(self) -> ToolCatalog:
        return self.snapshot.catalog_for(self.agent.name, self.scenario.name)

    def scratch_for_agent(self) -> dict[str, Any]:
        return self.scratch.setdefault(self.agent.name, {})

    def tool_context(self) -> ToolContext:
        return ToolContext(
            call_id=self.call_id,
            caller=self.caller,
            scenario=self.scenario.name,
            agent=self.agent.name,
            session=self.session,
            redis=self.redis,
            clock=self.clock,
        )

    def greeting(self, *, returning: bool = False) -> str:
        if returning:
            text = render_return_greeting(self.agent, self.context, self.scenario)
            if text:
                return text
        text = render_greeting(self.agent, self.context, self.scenario)
        if self.scenario.recording != "off" and not self._consent_said:
            # Consent: the call's first greeting says the call is recorded.
            self._consent_said = True
            text = f"{text.rstrip()} {self.scenario.recording_consent.strip()}"
        return text

    # --- recording -----------------------------------------------------------------------------
    def add_caller_text(self, text: str) -> None:
        message = {"role": "user", "content": text}
        self.history().append(message)
        self._log.append(_LogEntry(self.agent.name, message))
        self._seen[self.agent.name] = len(self._log)

    def add_agent_text(self, text: str, *, agent: str | None = None) -> None:
        if not text:
            return
        name = agent or self.agent.name
        message = {"role": "assistant", "content": text}
        self.history(name).append(message)
        self._log.append(_LogEntry(name, message))
        if name == self.agent.name:
            self._seen[name] = len(self._log)

    # --- persistence ---------------------------------------------------------------------------
    def snapshot_state(self) -> ConversationState:
        """A JSON-safe copy of the conversation (values tools left in `session` that JSON cannot hold are
        stored as text)."""
        return ConversationState(
            call_id=self.call_id,
            registry_version=self.snapshot.version,
            scenario=self.scenario.name,
            agent=self.agent.name,
            context=to_jsonable_python(self.context, fallback=str),
            session=to_jsonable_python(self.session, fallback=str),
            histories=to_jsonable_python(self.histories, fallback=str),
            scratch=to_jsonable_python(self.scratch, fallback=str),
            visited=list(self.visited),
            tools_called=list(self.tools_called),
            log=[(entry.agent, dict(entry.message)) for entry in self._log],
            seen=dict(self._seen),
        )

    def restore(self, state: ConversationState) -> None:
        """Continue from a saved state (same call, same scenario). Agents the registry no longer has keep
        the current agent."""
        if state.agent in self.snapshot.agents and state.agent in self.scenario.agents:
            self.agent = self.snapshot.agents[state.agent]
        self.context.update(state.context)
        self.session.update(state.session)
        self.histories = {name: list(history) for name, history in state.histories.items()}
        self.scratch = {name: dict(values) for name, values in state.scratch.items()}
        self.visited = list(state.visited) or [self.agent.name]
        self.tools_called = list(state.tools_called)
        self._log = [_LogEntry(agent, dict(message)) for agent, message in state.log]
        self._seen = dict(state.seen) or {self.agent.name: len(self._log)}
        self._consent_said = True  # the call was greeted (and told it is recorded) before it moved here

    # --- handoffs ------------------------------------------------------------------------------
    def hand_off(self, target: HandoffTarget, reason: str) -> bool:
        """Make `target.agent` the active agent. Returns True if it had been visited before."""
        previous = self.agent
        returning = target.agent in self._seen
        self.agent = self.snapshot.agents[target.agent]
        self.visited.append(self.agent.name)
        self.context.update(previous_agent=previous.name, handoff_reason=reason)
        history = self.history()
        start = self._seen.get(self.agent.name, 0)
        if target.share_context:
            for entry in self._log[start:]:
                speaker = entry.message["role"]
                content = entry.message["content"]
                if speaker == "assistant" and entry.agent != self.agent.name:
                    # Another agent's words: context for this one, not something it said itself.
                    history.append({"role": "user", "content": f"[{entry.agent} said] {content}"})
                else:
                    history.append(dict(entry.message))
        elif self._log and self._log[-1].message["role"] == "user":
            history.append(dict(self._log[-1].message))  # at least what the caller just asked
        history.append({"role": "system", "content": f"Handed over from {previous.name}: {reason}"})
        self._seen[self.agent.name] = len(self._log)
        return returning
