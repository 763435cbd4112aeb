"""A `RegistrySnapshot` as bytes, so a registry loaded in another process crosses back cheaply.

A snapshot holds tools, and tools hold functions: a handoff or intake tool's function is a closure, and a
tool module from an `AGENTS_DIR` is imported under a name only the loading process knows. So tools do not
travel as code but as recipes, rebuilt on the receiving side:

- a discovered `@tool` function travels as (module, qualified name, source file, fingerprint) and is looked
  up in the receiver's own modules (a loose tool file is imported there by path, as discovery does); its
  fingerprint must match, or the transfer is refused (`StaleTransfer`: the file changed in between);
- a generated handoff tool travels as its edge (name, target, description, examples, type, share_context);
- a generated intake tool travels as its form and scenario.

Agents and scenarios are pydantic models and travel as themselves (no re-validation on arrival). Shared
objects (a tool in many agents' catalogs) are pickled once and rebuilt once.
"""

from __future__ import annotations

import importlib
import io
import pickle
import sys
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from registries.agentstore.schema import AgentSpec
from registries.scenariostore.intake import IntakeForm
from registries.scenariostore.schema import ScenarioSpec
from registries.snapshot import RegistrySnapshot
from registries.toolstore.catalog import ToolCatalog
from registries.toolstore.decorator import ToolSpec, spec_of
from registries.toolstore.discovery import LOOSE_PREFIX, loose_module
from registries.toolstore.handoff import handoff_tool
from registries.toolstore.intake_tool import intake_tool

__all__ = ["StaleTransfer", "pack_snapshot", "unpack_snapshot"]


class StaleTransfer(Exception):
    """A tool of the packed snapshot is not the same here (its file changed after the other process loaded it)."""


def _discovered_tool(module_name: str, qualname: str, source: str | None, fingerprint: str) -> ToolSpec:
    module = sys.modules.get(module_name)
    if module is None and module_name.startswith(LOOSE_PREFIX) and source is not None:
        module = loose_module(Path(source), [])  # a problem with it shows as the name check failing
        if module is None or module.__name__ != module_name:
            raise StaleTransfer(f"tool module {source} is not the one the loader imported")
    elif module is None:
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:
            raise StaleTransfer(f"cannot import tool module {module_name}: {exc}") from exc
    value: Any = module
    for part in qualname.split("."):
        value = getattr(value, part, None)
    spec = spec_of(value)
    if spec is None or spec.fingerprint != fingerprint:
        raise StaleTransfer(f"tool {module_name}.{qualname} differs from the one the loader saw")
    return spec


def _handoff_tool(
    name: str,
    target: str,
    description: str,
    examples: tuple[str, ...],
    kind: Literal["announced", "discrete"],
    share_context: bool,
) -> ToolSpec:
    return handoff_tool(
        name, target, description=description, examples=examples, type=kind, share_context=share_context
    )


def _intake_tool(form: IntakeForm, scenario: str) -> ToolSpec:
    return intake_tool(form, scenario)


def _catalog(specs: list[ToolSpec]) -> ToolCatalog:
    return ToolCatalog(specs)


def _snapshot(
    version: str,
    loaded_at: datetime,
    agents: dict[str, AgentSpec],
    scenarios: dict[str, ScenarioSpec],
    tools: ToolCatalog,
    sources: tuple[Path, ...],
    agent_tools: dict[tuple[str, str], ToolCatalog],
    numbers: dict[str, str],
    fingerprints: dict[str, dict[str, str]],
) -> RegistrySnapshot:
    return RegistrySnapshot(
        version=version,
        loaded_at=loaded_at,
        agents=MappingProxyType(agents),
        scenarios=MappingProxyType(scenarios),
        tools=tools,
        sources=sources,
        _agent_tools=MappingProxyType(agent_tools),
        _numbers=MappingProxyType(numbers),
        _fingerprints=MappingProxyType({k: MappingProxyType(v) for k, v in fingerprints.items()}),
    )


class _Pickler(pickle.Pickler):
    def __init__(self, file: io.BytesIO, intake_scenarios: Mapping[int, str]) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._intake_scenarios = intake_scenarios

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, ToolSpec):
            return self._tool(obj)
        if isinstance(obj, ToolCatalog):
            return _catalog, (list(obj.values()),)
        if isinstance(obj, RegistrySnapshot):
            return _snapshot, (
                obj.version,
                obj.loaded_at,
                dict(obj.agents),
                dict(obj.scenarios),
                obj.tools,
                obj.sources,
                dict(obj._agent_tools),
                dict(obj._numbers),
                {kind: dict(values) for kind, values in obj._fingerprints.items()},
            )
        return NotImplemented

    def _tool(self, spec: ToolSpec) -> Any:
        if spec.handoff is not None:
            target = spec.handoff
            args = (
                spec.name,
                target.agent,
                spec.description,
                spec.examples,
                target.type,
                target.share_context,
            )
            return _handoff_tool, args
        if spec.intake is not None:
            scenario = self._intake_scenarios.get(id(spec.intake))
            if scenario is None:
                raise pickle.PicklingError(
                    f"intake tool {spec.name!r} belongs to no scenario of the snapshot"
                )
            return _intake_tool, (spec.intake, scenario)
        function = spec.function
        return _discovered_tool, (function.__module__, function.__qualname__, spec.source, spec.fingerprint)


def pack_snapshot(snapshot: RegistrySnapshot) -> bytes:
    """`snapshot` as bytes for `unpack_snapshot` in another process of the same code."""
    intake_scenarios = {id(s.intake): name for name, s in snapshot.scenarios.items() if s.intake is not None}
    buffer = io.BytesIO()
    _Pickler(buffer, intake_scenarios).dump(snapshot)
    return buffer.getvalue()


def unpack_snapshot(data: bytes) -> RegistrySnapshot:
    """The snapshot `pack_snapshot` packed, its tools resolved here. Raises `StaleTransfer` when a tool
    module is not the same here as where the snapshot was loaded (load again in this process then)."""
    snapshot = pickle.loads(data)
    if not isinstance(snapshot, RegistrySnapshot):
        raise TypeError(f"expected a packed RegistrySnapshot, got {type(snapshot).__name__}")
    return snapshot
