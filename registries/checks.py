"""Cross-reference checks: things no single YAML file can get wrong on its own.

Tools named by agents must exist; handoff edges must join agents of the scenario; handoff tool names must be
unambiguous; every agent of a scenario must be reachable from its start agent; a phone number routes to one
scenario only. Every problem is appended to `issues` at the line of the offending entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from registries.agentstore.schema import AgentSpec
from registries.scenariostore.schema import HandoffEdge, ScenarioSpec
from registries.templates import render_text, template_error
from registries.toolstore.decorator import ToolSpec
from registries.toolstore.handoff import default_handoff_tool, handoff_tool
from registries.toolstore.shapes import example_shape
from registries.validation import RegistryIssue, field_path, issue_at, suggestion
from registries.yamldoc import pos_of


@dataclass
class Loaded:
    """A validated agent or scenario with the positioned YAML document it came from."""

    spec: Any  # AgentSpec | ScenarioSpec
    doc: Any
    file: Path


@dataclass
class Graph:
    """What the scenarios add: resolved scenarios, generated handoff tools, and each agent's tools per scenario."""

    scenarios: dict[str, ScenarioSpec]
    handoff_tools: dict[str, ToolSpec]
    agent_tools: dict[tuple[str, str], list[ToolSpec]]


class _Report:
    """Issues for one YAML document: `add(loc, message)` reports at the line of `loc`, named like `loc`."""

    def __init__(self, loaded: Loaded, issues: list[RegistryIssue]) -> None:
        self.loaded, self.issues = loaded, issues

    def add(self, loc: tuple[Any, ...], message: str, *, at: tuple[Any, ...] | None = None) -> None:
        where = pos_of(self.loaded.doc, at or loc) or pos_of(self.loaded.doc, loc[:-1])
        self.issues.append(issue_at(where, self.loaded.file, field_path(loc), message))

    def where(self, loc: tuple[Any, ...]) -> str:
        pos = pos_of(self.loaded.doc, loc)
        return f"{pos.file}:{pos.line}" if pos else str(self.loaded.file)


def check_agents(
    agents: Mapping[str, Loaded], tools: Mapping[str, ToolSpec], issues: list[RegistryIssue]
) -> None:
    """Handoff triggers are unique and not tool names; every listed tool exists."""
    triggers: dict[str, Loaded] = {}
    for loaded in agents.values():
        agent: AgentSpec = loaded.spec
        if agent.handoff is None:
            continue
        trigger, loc = agent.handoff.trigger, ("handoff", "trigger")
        if trigger in triggers:
            first = triggers[trigger]
            message = f"duplicate handoff trigger {trigger!r} (agent {first.spec.name!r} in {first.file} uses it too)"
            _Report(loaded, issues).add(loc, message)
        elif trigger in tools:
            _Report(loaded, issues).add(
                loc, f"handoff trigger {trigger!r} is already a tool ({tools[trigger].location})"
            )
        triggers.setdefault(trigger, loaded)
    handoff_names = set(triggers) | {f"handoff_to_{name}" for name in agents}
    for loaded in agents.values():
        for index, name in enumerate(loaded.spec.tools):
            if name in handoff_names and name not in tools:
                message = (
                    f"{name!r} is a handoff tool: add a handoff edge in the scenario instead of listing it"
                )
                _Report(loaded, issues).add(("tools", index), message)
            elif name not in tools:
                _Report(loaded, issues).add(
                    ("tools", index), f"unknown tool {name!r}{suggestion(name, tools)}"
                )


def _check_member(
    name: str, loc: tuple[Any, ...], report: _Report, agents: Mapping[str, Loaded], broken: set[str]
) -> None:
    """Report `name` unless it is one of the scenario's agents (agents with errors of their own are skipped)."""
    if (name in report.loaded.spec.agents and name in agents) or name in broken:
        return
    if name in agents:
        report.add(loc, f"agent {name!r} is not in this scenario's agents list")
    else:
        report.add(loc, f"unknown agent {name!r}{suggestion(name, agents)}")


def _check_edges(
    report: _Report,
    agents: Mapping[str, Loaded],
    tools: Mapping[str, ToolSpec],
    broken: set[str],
    owners: dict[str, tuple[str, str]],
    value_lists: _ValueLists,
) -> list[tuple[HandoffEdge, ToolSpec]]:
    """Validate the handoff edges; return each (edge with its tool name resolved, generated tool)."""
    edges: list[tuple[HandoffEdge, ToolSpec]] = []
    for index, edge in enumerate(report.loaded.spec.handoffs):
        loc = ("handoffs", index)
        _check_member(edge.from_agent, (*loc, "from"), report, agents, broken)
        _check_member(edge.to, (*loc, "to"), report, agents, broken)
        if edge.from_agent == edge.to:
            report.add((*loc, "to"), "an agent cannot hand off to itself")
        target = agents[edge.to].spec.handoff if edge.to in agents else None
        name = edge.tool or default_handoff_tool(edge.to, target.trigger if target else None)
        tool_loc = (*loc, "tool")
        if name in tools:
            report.add(tool_loc, f"handoff tool {name!r} is already a tool ({tools[name].location})")
        elif owners.setdefault(name, (edge.to, report.where(tool_loc)))[0] != edge.to:
            other, where = owners[name]
            report.add(
                tool_loc, f"duplicate handoff trigger {name!r}: it already hands off to {other!r} ({where})"
            )
        if any(e.from_agent == edge.from_agent and e.tool == name for e, _ in edges):
            report.add(
                tool_loc, f"duplicate handoff: {edge.from_agent!r} already has {name!r} in this scenario"
            )
        spec = handoff_tool(
            name,
            edge.to,
            description=edge.condition or (target.description if target else ""),
            examples=target.examples if target else (),
            type=edge.type,
            share_context=edge.share_context,
            routing_values=_values_only_there(
                value_lists,
                edge.from_agent,
                edge.to,
                tuple(
                    e.to
                    for e in report.loaded.spec.handoffs
                    if e.from_agent == edge.from_agent and e.to != edge.to
                ),
            ),
        )
        edges.append((edge.model_copy(update={"tool": name}), spec))
    return [
        (edge, replace(spec, routing_texts=_texts_only_there(agents, tools, edge, [e for e, _ in edges])))
        for edge, spec in edges
    ]


def _texts_only_there(
    agents: Mapping[str, Loaded], tools: Mapping[str, ToolSpec], edge: HandoffEdge, edges: list[HandoffEdge]
) -> tuple[str, ...]:
    """The examples and descriptions of the tools only `edge.to` offers among the agents the source can reach in
    one step (itself included): a tool two targets share says nothing about which of them the caller wants."""

    def tool_names(agent: str) -> set[str]:
        return set(agents[agent].spec.tools) if agent in agents else set()

    elsewhere = tool_names(edge.from_agent).union(
        *(tool_names(e.to) for e in edges if e.from_agent == edge.from_agent and e.to != edge.to)
    )
    texts: list[str] = []
    for name in agents[edge.to].spec.tools if edge.to in agents else ():
        spec = tools.get(name)
        if spec is None or name in elsewhere or spec.handoff is not None:
            continue
        texts += [e for e in spec.examples if e.strip()]
        if spec.description.strip():
            texts.append(" ".join(spec.description.split()))
    return tuple(dict.fromkeys(texts))


def _enum_value_lists(agent: Loaded | None, tools: Mapping[str, ToolSpec]) -> list[tuple[str, ...]]:
    lists: list[tuple[str, ...]] = []
    for name in agent.spec.tools if agent is not None else ():
        spec = tools.get(name)
        for prop in (spec.parameters.get("properties", {}) if spec is not None else {}).values():
            for schema in [prop, *prop.get("anyOf", [])] if isinstance(prop, dict) else []:
                if isinstance(schema, dict) and schema.get("enum"):
                    lists.append(tuple(str(v) for v in schema["enum"] if v != "other"))
            shape = example_shape(str(prop.get("description", ""))) if isinstance(prop, dict) else None
            long_enough = shape is not None and sum(c in "LD" for c in shape) >= 6  # not "like 250" amounts
            if shape is not None and long_enough:
                lists.append((f"#{shape}",))  # an identifier of this shape ("#DDDDDDD": a claim number)
    return lists


class _ValueLists:
    """Each agent's enum value lists, worked out once per registry load: every handoff edge asks for its source,
    target and siblings' lists, so a registry of 100 agents asked over a thousand times (most of a load's time)."""

    def __init__(self, agents: Mapping[str, Loaded], tools: Mapping[str, ToolSpec]) -> None:
        self._agents = agents
        self._tools = tools
        self._lists: dict[str, list[tuple[str, ...]]] = {}

    def of(self, agent: str) -> list[tuple[str, ...]]:
        lists = self._lists.get(agent)
        if lists is None:
            lists = self._lists[agent] = _enum_value_lists(self._agents.get(agent), self._tools)
        return lists


def _values_only_there(
    value_lists: _ValueLists, source: str, target: str, siblings: tuple[str, ...] = ()
) -> tuple[tuple[str, ...], ...]:
    """The target agent's enum value lists, less the values the source agent's own tools already take and those
    another agent the source hands off to (`siblings`) takes too ("lost" is a lock reason at fraud and at card
    services: it says nothing about which of them the caller wants)."""
    own = {v for values in value_lists.of(source) for v in values}
    for sibling in siblings:
        own |= {v for values in value_lists.of(sibling) for v in values}
    lists = [tuple(v for v in values if v not in own) for values in value_lists.of(target)]
    return tuple(dict.fromkeys(values for values in lists if values))


def _check_reachable(
    report: _Report, edges: list[tuple[HandoffEdge, ToolSpec]], agents: Mapping[str, Loaded]
) -> None:
    scenario: ScenarioSpec = report.loaded.spec
    if scenario.start_agent not in scenario.agents:
        report.add(
            ("start_agent",), f"start agent {scenario.start_agent!r} is not in this scenario's agents list"
        )
        return
    reached, frontier = {scenario.start_agent}, [scenario.start_agent]
    while frontier:
        current = frontier.pop()
        for edge, _ in edges:
            if edge.from_agent == current and edge.to not in reached:
                reached.add(edge.to)
                frontier.append(edge.to)
    for index, name in enumerate(scenario.agents):
        if name not in reached and name in agents and name not in scenario.agents[:index]:
            message = (
                f"agent {name!r} is unreachable: no handoff path from start agent {scenario.start_agent!r}"
            )
            report.add(("agents", index), message)


def check_scenarios(
    scenarios: Mapping[str, Loaded],
    agents: Mapping[str, Loaded],
    tools: Mapping[str, ToolSpec],
    issues: list[RegistryIssue],
    broken: set[str],
) -> Graph:
    graph = Graph(scenarios={}, handoff_tools={}, agent_tools={})
    owners: dict[str, tuple[str, str]] = {}  # handoff tool -> (target agent, where first defined)
    numbers: dict[str, str] = {}  # phone number -> "scenario 'x' (file:line)"
    value_lists = _ValueLists(agents, tools)
    for loaded in scenarios.values():
        scenario: ScenarioSpec = loaded.spec
        report = _Report(loaded, issues)
        for index, name in enumerate(scenario.agents):
            if name in scenario.agents[:index]:
                report.add(("agents", index), f"agent {name!r} is listed twice")
            else:
                _check_member(name, ("agents", index), report, agents, broken)
        edges = _check_edges(report, agents, tools, broken, owners, value_lists)
        _check_reachable(report, edges, agents)
        for index, number in enumerate(scenario.phone_numbers):
            here = f"scenario {scenario.name!r} ({report.where(('phone_numbers', index))})"
            if numbers.setdefault(number, here) != here:
                report.add(
                    ("phone_numbers", index), f"phone number {number} already routes to {numbers[number]}"
                )
        graph.scenarios[scenario.name] = scenario.model_copy(update={"handoffs": tuple(e for e, _ in edges)})
        for _, spec in edges:
            graph.handoff_tools.setdefault(spec.name, spec)
        for member in dict.fromkeys(scenario.agents):
            if member in agents:
                own = [tools[t] for t in agents[member].spec.tools if t in tools]
                handoffs = [spec for edge, spec in edges if edge.from_agent == member]
                graph.agent_tools[(member, scenario.name)] = own + handoffs
    return graph


def check_rendering(
    scenarios: Mapping[str, Loaded], agents: Mapping[str, Loaded], issues: list[RegistryIssue]
) -> None:
    """Greetings and prompts must render with no caller context at all (missing values render empty), so a
    call never fails on, say, `{{ caller_name.title() }}` for a caller whose name is unknown."""
    for scenario in scenarios.values():
        for name in dict.fromkeys(scenario.spec.agents):
            if name not in agents:
                continue
            agent: AgentSpec = agents[name].spec
            variables = {**scenario.spec.template_vars, **agent.template_vars}
            for field, source in (
                ("greeting", agent.greeting),
                ("return_greeting", agent.return_greeting),
                ("prompt_file" if agent.prompt_file else "prompt", agent.prompt_template),
            ):
                if not source or template_error(source):
                    continue  # syntax errors are reported already
                try:
                    render_text(source, variables, collapse_whitespace=False)
                except Exception as exc:
                    where = pos_of(agents[name].doc, (field,))
                    message = (
                        f"fails to render when the caller context is missing (scenario {scenario.spec.name!r}): "
                        f"{type(exc).__name__}: {exc}; guard it with {{% if ... %}} or | default(...)"
                    )
                    issues.append(issue_at(where, agents[name].file, field, message))
