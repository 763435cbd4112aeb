"""`RegistrySnapshot`: one immutable, versioned view of agents, scenarios and tools.

A call keeps the snapshot it started with for its whole life; a refresh builds a new snapshot and swaps the
reference, so nothing here is ever mutated after `build_snapshot` returns.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

from registries.agentstore.schema import AgentSpec
from registries.scenariostore.schema import HandoffEdge, ScenarioSpec, normalize_number
from registries.toolstore.catalog import ToolCatalog
from registries.toolstore.decorator import ToolSpec


def agent_fingerprint(agent: AgentSpec) -> str:
    content = agent.model_dump_json() + "\0" + agent.prompt_template
    return hashlib.sha256(content.encode()).hexdigest()


def scenario_fingerprint(scenario: ScenarioSpec) -> str:
    return hashlib.sha256(scenario.model_dump_json(by_alias=True).encode()).hexdigest()


@dataclass(frozen=True)
class ChangeSet:
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()

    @classmethod
    def between(cls, old: Mapping[str, str], new: Mapping[str, str]) -> ChangeSet:
        """From name -> fingerprint maps (old, new)."""
        return cls(
            added=tuple(sorted(set(new) - set(old))),
            removed=tuple(sorted(set(old) - set(new))),
            changed=tuple(sorted(n for n in set(old) & set(new) if old[n] != new[n])),
        )

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    def to_json(self) -> dict[str, list[str]]:
        return {"added": list(self.added), "removed": list(self.removed), "changed": list(self.changed)}


@dataclass(frozen=True)
class RegistryDiff:
    """What changed between two snapshots: `diff.agents.added`, `diff.tools.changed`, ..."""

    agents: ChangeSet
    scenarios: ChangeSet
    tools: ChangeSet

    @property
    def is_empty(self) -> bool:
        return not (self.agents or self.scenarios or self.tools)

    def to_json(self) -> dict[str, dict[str, list[str]]]:
        return {
            "agents": self.agents.to_json(),
            "scenarios": self.scenarios.to_json(),
            "tools": self.tools.to_json(),
        }

    as_dict = (
        to_json  # `{"agents": {"added": [...], "removed": [...], "changed": [...]}, "scenarios": ..., ...}`
    )


@dataclass(frozen=True, eq=False)
class RegistrySnapshot:
    version: str  # short sha256 of the sources' content and the tools; same content -> same version
    loaded_at: datetime
    agents: Mapping[str, AgentSpec]
    scenarios: Mapping[str, ScenarioSpec]
    tools: ToolCatalog  # every tool, including the handoff tools generated from the scenarios
    sources: tuple[Path, ...] = ()
    _agent_tools: Mapping[tuple[str, str], ToolCatalog] = field(
        default_factory=lambda: MappingProxyType({}), repr=False
    )
    _numbers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), repr=False)
    _fingerprints: Mapping[str, Mapping[str, str]] = field(
        default_factory=lambda: MappingProxyType({}), repr=False
    )

    def start_agent(self, scenario: str) -> AgentSpec:
        return self.agents[self.scenarios[scenario].start_agent]

    def catalog_for(self, agent: str, scenario: str) -> ToolCatalog:
        """The tools `agent` may call in `scenario` (its own + its handoff tools there), ready to invoke.

        An orchestrator should invoke through this catalog, so a tool the agent does not have is an
        `unknown_tool` result, and a handoff tool carries this edge's description and type.
        """
        try:
            return self._agent_tools[(agent, scenario)]
        except KeyError:
            raise KeyError(f"agent {agent!r} is not part of scenario {scenario!r}") from None

    def tools_for(self, agent: str, scenario: str) -> list[ToolSpec]:
        """The agent's listed tools followed by its handoff tools in `scenario`."""
        return list(self.catalog_for(agent, scenario).values())

    def handoffs_from(self, agent: str, scenario: str) -> list[HandoffEdge]:
        return self.scenarios[scenario].handoffs_from(agent)

    def scenario_for_number(self, dialed: str, default: str) -> ScenarioSpec:
        """The scenario whose `phone_numbers` has `dialed` (E.164, or an ACS raw id like `4:+1...`), else `default`."""
        return self.scenarios[self._numbers.get(normalize_number(dialed), default)]

    def fingerprints(self, kind: str) -> Mapping[str, str]:
        """name -> content digest for `kind` in ("agents", "scenarios", "tools")."""
        return self._fingerprints.get(kind, MappingProxyType({}))

    def diff(self, older: RegistrySnapshot | None) -> RegistryDiff:
        """What this snapshot adds, removes and changes relative to `older` (everything is added if None)."""

        def change(kind: str) -> ChangeSet:
            return ChangeSet.between(older.fingerprints(kind) if older else {}, self.fingerprints(kind))

        return RegistryDiff(agents=change("agents"), scenarios=change("scenarios"), tools=change("tools"))

    def summary(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "loaded_at": self.loaded_at.isoformat(),
            "agents": len(self.agents),
            "scenarios": len(self.scenarios),
            "tools": len(self.tools),
        }


def build_snapshot(
    agents: Mapping[str, AgentSpec],
    scenarios: Mapping[str, ScenarioSpec],
    tools: Mapping[str, ToolSpec],
    agent_tools: Mapping[tuple[str, str], list[ToolSpec]],
    sources: list[tuple[str, bytes, Path]],
) -> RegistrySnapshot:
    """Freeze loaded parts. `sources` are (stable relative name, content, path) of every file read."""
    fingerprints = {
        "agents": {name: agent_fingerprint(a) for name, a in agents.items()},
        "scenarios": {name: scenario_fingerprint(s) for name, s in scenarios.items()},
        "tools": {name: t.fingerprint for name, t in tools.items()},
    }
    digest = hashlib.sha256()
    for name, content, _ in sorted(sources, key=lambda s: s[0]):
        digest.update(name.encode() + b"\0" + hashlib.sha256(content).digest())
    for name, fingerprint in sorted(fingerprints["tools"].items()):
        digest.update(f"tool:{name}\0{fingerprint}".encode())
    numbers = {n: s.name for s in scenarios.values() for n in s.phone_numbers}
    return RegistrySnapshot(
        version=digest.hexdigest()[:12],
        loaded_at=datetime.now(UTC),
        agents=MappingProxyType(dict(agents)),
        scenarios=MappingProxyType(dict(scenarios)),
        tools=ToolCatalog(tools),
        sources=tuple(path for _, _, path in sources),
        _agent_tools=MappingProxyType({key: ToolCatalog(specs) for key, specs in agent_tools.items()}),
        _numbers=MappingProxyType(numbers),
        _fingerprints=MappingProxyType({k: MappingProxyType(v) for k, v in fingerprints.items()}),
    )
