"""Loads agent and scenario YAML into an immutable snapshot, with errors that name file, line and field."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

import jinja2
import yaml
from pydantic import BaseModel, ValidationError

from registries.agentstore.schema import AgentSpec
from registries.scenariostore.schema import ScenarioSpec

SHIPPED_AGENTS = Path(__file__).parent / "agentstore" / "agents"
SHIPPED_SCENARIOS = Path(__file__).parent / "scenariostore" / "scenarios"

_Model = TypeVar("_Model", bound=BaseModel)


@dataclass(frozen=True)
class RegistryIssue:
    file: Path
    line: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else str(self.file)
        return f"{where}: {self.field + ': ' if self.field else ''}{self.message}"


class RegistryError(Exception):
    def __init__(self, issues: list[RegistryIssue]) -> None:
        super().__init__("\n".join(str(i) for i in issues))
        self.issues = issues


@dataclass(frozen=True)
class RegistrySnapshot:
    agents: MappingProxyType[str, AgentSpec]
    scenarios: MappingProxyType[str, ScenarioSpec]
    sources: tuple[Path, ...] = field(default=())

    def start_agent(self, scenario: str) -> AgentSpec:
        return self.agents[self.scenarios[scenario].start_agent]


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that remembers the line of every mapping key, for error messages."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    lines = {str(k.value): k.start_mark.line + 1 for k, _ in node.value if isinstance(k, yaml.ScalarNode)}
    mapping["__lines__"] = lines
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _strip_lines(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_lines(v) for k, v in value.items() if k != "__lines__"}
    if isinstance(value, list):
        return [_strip_lines(v) for v in value]
    return value


def _line_of(doc: Any, loc: tuple[Any, ...]) -> int | None:
    line = None
    node = doc
    for part in loc:
        if isinstance(node, dict):
            line = node.get("__lines__", {}).get(str(part), line)
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            break
    return line


def _load_model(path: Path, model: type[_Model], issues: list[RegistryIssue]) -> _Model | None:
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        issues.append(RegistryIssue(path, mark.line + 1 if mark else None, None, f"invalid YAML: {exc}"))
        return None
    except OSError as exc:
        issues.append(RegistryIssue(path, None, None, f"cannot read: {exc}"))
        return None
    if not isinstance(doc, dict):
        issues.append(RegistryIssue(path, 1, None, "expected a mapping at the top level"))
        return None
    try:
        return model.model_validate(_strip_lines(doc))
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(error["loc"])
            issues.append(
                RegistryIssue(path, _line_of(doc, loc), ".".join(str(p) for p in loc) or None, error["msg"])
            )
        return None


def _yaml_files(directory: Path) -> list[Path]:
    return sorted(
        p for p in directory.glob("*.y*ml") if p.suffix in (".yaml", ".yml") and not p.name.startswith("_")
    )


def load_registry(extra_dirs: list[Path] | None = None) -> RegistrySnapshot:
    """Shipped agents/scenarios plus `extra_dirs` (each may hold agents/ and scenarios/ subfolders)."""
    agent_dirs = [SHIPPED_AGENTS] + [d / "agents" for d in extra_dirs or []]
    scenario_dirs = [SHIPPED_SCENARIOS] + [d / "scenarios" for d in extra_dirs or []]
    issues: list[RegistryIssue] = []
    agents: dict[str, AgentSpec] = {}
    scenarios: dict[str, ScenarioSpec] = {}
    sources: list[Path] = []
    env = jinja2.Environment(autoescape=False)
    for path in (p for d in agent_dirs if d.is_dir() for p in _yaml_files(d)):
        sources.append(path)
        agent = _load_model(path, AgentSpec, issues)
        if agent is None:
            continue
        if agent.name in agents:
            issues.append(RegistryIssue(path, None, "name", f"duplicate agent name {agent.name!r}"))
            continue
        try:
            env.parse(agent.greeting)
        except jinja2.TemplateSyntaxError as exc:
            issues.append(RegistryIssue(path, None, "greeting", f"Jinja syntax error: {exc.message}"))
            continue
        agents[agent.name] = agent
    for path in (p for d in scenario_dirs if d.is_dir() for p in _yaml_files(d)):
        sources.append(path)
        scenario = _load_model(path, ScenarioSpec, issues)
        if scenario is None:
            continue
        for member in [scenario.start_agent, *scenario.agents]:
            if member not in agents:
                issues.append(RegistryIssue(path, None, "agents", f"unknown agent {member!r}"))
        if scenario.start_agent not in scenario.agents:
            issues.append(RegistryIssue(path, None, "start_agent", "start_agent must be listed in agents"))
        scenarios[scenario.name] = scenario
    if issues:
        raise RegistryError(issues)
    return RegistrySnapshot(MappingProxyType(agents), MappingProxyType(scenarios), tuple(sources))


def render_greeting(agent: AgentSpec, context: dict[str, Any]) -> str:
    template = jinja2.Environment(autoescape=False, undefined=jinja2.ChainableUndefined).from_string(
        agent.greeting
    )
    return " ".join(template.render(**context).split())
