"""Turning a session's JSON function tools into the `ToolSpec`s the local brain routes with.

Tools run on the client; the server only needs the routing text. A tool the registry knows (by name, among
the shipped tools and every scenario's generated handoff tools) brings its examples, reply template and
handoff target; any other tool becomes a schema-only spec whose description is its only routing text.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from apps.realtime_server.conversation import output_says_handoff
from apps.realtime_server.protocol import FunctionTool
from registries.snapshot import RegistrySnapshot
from registries.toolstore.decorator import ToolSpec
from voice.stt.phrases import scenario_phrases

_MAX_CACHED = 4096


class ToolResolver(Protocol):
    def resolve(self, tool: FunctionTool) -> ToolSpec: ...

    def is_handoff(self, name: str, output: str) -> bool:
        """Whether a call of `name` that returned `output` handed the conversation to another agent."""
        ...

    def phrases(self, specs: Sequence[ToolSpec]) -> tuple[str, ...]:
        """What the recogniser is biased towards in a session with these tools."""
        ...


class _ClientSideArguments(BaseModel):
    model_config = ConfigDict(extra="allow")


def _runs_on_client(**_: Any) -> Any:
    raise RuntimeError("realtime session tools run on the client, never on the server")


def schema_only_spec(tool: FunctionTool) -> ToolSpec:
    return ToolSpec(
        name=tool.name,
        description=tool.description,
        parameters=dict(tool.parameters) or {"type": "object", "properties": {}},
        examples=(),
        reply=None,
        is_async=False,
        function=_runs_on_client,
        arguments=_ClientSideArguments,
    )


def tool_phrases(specs: Sequence[ToolSpec]) -> tuple[str, ...]:
    """What the embedded recogniser is biased towards: examples and descriptions, deduplicated in order."""
    phrases: list[str] = []
    for spec in specs:
        phrases.extend(spec.examples)
        phrases.append(spec.description)
    return tuple(dict.fromkeys(p.strip() for p in phrases if p.strip()))


class RegistryToolResolver:
    """Resolves against the registry snapshot `snapshot()` returns (the backend passes the live one)."""

    def __init__(self, snapshot: Callable[[], RegistrySnapshot | None]) -> None:
        self._snapshot = snapshot
        self._cache: dict[tuple[str, str, str, str], ToolSpec] = {}
        self._handoff_names: tuple[str, frozenset[str]] = ("", frozenset())
        self._phrases: dict[tuple[str, frozenset[str]], tuple[str, ...]] = {}

    def resolve(self, tool: FunctionTool) -> ToolSpec:
        snapshot = self._snapshot()
        version = snapshot.version if snapshot is not None else ""
        key = (version, tool.name, tool.description, json.dumps(tool.parameters, sort_keys=True, default=str))
        spec = self._cache.get(key)
        if spec is None:
            spec = self._lookup(snapshot, tool.name) or schema_only_spec(tool)
            if len(self._cache) >= _MAX_CACHED:  # a refreshed registry makes old keys dead: start over
                self._cache.clear()
            self._cache[key] = spec
        return spec

    def is_handoff(self, name: str, output: str) -> bool:
        if output_says_handoff(output) or name.startswith("handoff"):
            return True
        snapshot = self._snapshot()
        if snapshot is None:
            return False
        if self._handoff_names[0] != snapshot.version:
            self._handoff_names = (snapshot.version, frozenset(_handoff_tool_names(snapshot)))
        return name in self._handoff_names[1]

    def phrases(self, specs: Sequence[ToolSpec]) -> tuple[str, ...]:
        """The scenario's phrases (the cascade's set, so the recogniser's model is already built and a caller
        asking for another agent's service is heard as well) when the tools are exactly one of its agents'
        tool sets; else the tools' own examples and descriptions."""
        snapshot = self._snapshot()
        if snapshot is None:
            return tool_phrases(specs)
        key = (snapshot.version, frozenset(spec.name for spec in specs))
        if key not in self._phrases:
            if len(self._phrases) >= _MAX_CACHED:
                self._phrases.clear()
            scenario = _scenario_with_tool_set(snapshot, key[1])
            self._phrases[key] = (
                tuple(scenario_phrases(snapshot, scenario)) if scenario is not None else tool_phrases(specs)
            )
        return self._phrases[key]

    @staticmethod
    def _lookup(snapshot: RegistrySnapshot | None, name: str) -> ToolSpec | None:
        if snapshot is None:
            return None
        spec = snapshot.tools.get(name)
        if spec is not None:
            return spec
        for scenario in snapshot.scenarios.values():
            for agent in scenario.agents:
                try:
                    spec = snapshot.catalog_for(agent, scenario.name).get(name)
                except KeyError:
                    continue
                if spec is not None:
                    return spec
        return None


def _scenario_with_tool_set(snapshot: RegistrySnapshot, names: frozenset[str]) -> str | None:
    for scenario in snapshot.scenarios.values():
        for agent in scenario.agents:
            try:
                if frozenset(snapshot.catalog_for(agent, scenario.name)) == names:
                    return scenario.name
            except KeyError:
                continue
    return None


def _handoff_tool_names(snapshot: RegistrySnapshot) -> set[str]:
    names = {n for n, t in snapshot.tools.items() if t.handoff is not None}
    for scenario in snapshot.scenarios.values():
        for agent in scenario.agents:
            try:
                names.update(n for n, t in snapshot.catalog_for(agent, scenario.name).items() if t.handoff)
            except KeyError:
                continue
    return names
