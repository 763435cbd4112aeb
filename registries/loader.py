"""Loads agent and scenario YAML and tool modules into an immutable `RegistrySnapshot`.

Layout of a registry directory (the shipped one is `registries/`; `AGENTS_DIR` may add one):

    agents/_defaults.yaml          deep-merged under every agent of this folder (agent wins; lists replace)
    agents/<name>.yaml             one file per agent, or
    agents/<name>/agent.yaml       a folder per agent, with its prompt files next to it
    scenarios/<name>.yaml
    tools/*.py                     extra @tool modules (extra directories only)

Loading is pure and synchronous (the app runs it in a thread) and collects every problem before raising one
`RegistryError`, each problem naming file, line and field.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from registries.agentstore.schema import AgentSpec
from registries.checks import Loaded, check_agents, check_rendering, check_scenarios
from registries.intake_checks import add_intake_tools
from registries.scenariostore.schema import ScenarioSpec
from registries.snapshot import RegistryDiff, RegistrySnapshot, build_snapshot
from registries.templates import render_greeting, render_prompt, render_return_greeting
from registries.toolstore.discovery import collect_tools, tool_files
from registries.validation import (
    RegistryError,
    RegistryIssue,
    check_template,
    check_template_file,
    issue_at,
    validation_issues,
)
from registries.yamldoc import (
    MAX_YAML_BYTES,
    Pos,
    PosDict,
    YamlDocError,
    deep_merge,
    load_yaml_doc,
    plain,
    pos_of,
)

REGISTRIES = Path(__file__).parent
SHIPPED_AGENTS = REGISTRIES / "agentstore" / "agents"
SHIPPED_SCENARIOS = REGISTRIES / "scenariostore" / "scenarios"
SHIPPED_TOOL_PACKAGES = ("registries.toolstore.tools",)

__all__ = [
    "SHIPPED_AGENTS",
    "SHIPPED_SCENARIOS",
    "RegistryDiff",
    "RegistryError",
    "RegistryIssue",
    "RegistryRoot",
    "RegistrySnapshot",
    "load_registry",
    "load_registry_from",
    "render_greeting",
    "render_prompt",
    "render_return_greeting",
]


@dataclass(frozen=True)
class RegistryRoot:
    """One layer of registry sources. `label` + paths relative to `base` name files in the version hash."""

    label: str
    base: Path
    agents: Path
    scenarios: Path
    tools: Path | None = None

    @classmethod
    def shipped(cls) -> RegistryRoot:
        return cls("shipped", REGISTRIES, SHIPPED_AGENTS, SHIPPED_SCENARIOS)

    @classmethod
    def directory(cls, path: Path, label: str = "extra") -> RegistryRoot:
        """`path/agents`, `path/scenarios` and `path/tools`."""
        return cls(label, path, path / "agents", path / "scenarios", path / "tools")


@functools.lru_cache(maxsize=1024)
def _parse(path: Path, text: str) -> tuple[Any, tuple[tuple[Any, Pos], ...]]:
    """Parsed YAML by (file, exact content), so a refresh re-parses only the files that changed (parsing
    was most of a reload). The documents are shared between loads: nothing in the loader mutates them.
    About 10 KB a document: 1024 hold the live and the next version of a ~500-file registry."""
    doc, duplicates = load_yaml_doc(path, text)
    return doc, tuple(duplicates)


def _with_default(doc: PosDict, key: str, value: Any) -> PosDict:
    """`doc` with `key` added when missing, as a shallow copy (parsed documents are cached and shared)."""
    if key in doc:
        return doc
    copy = PosDict(doc)
    copy.pos = dict(doc.pos)
    copy[key] = value
    return copy


class _Reader:
    """Reads files once, remembering their content for the snapshot's version."""

    def __init__(self, issues: list[RegistryIssue]) -> None:
        self.issues = issues
        self.sources: list[tuple[str, bytes, Path]] = []
        self._texts: dict[Path, str] = {}

    def read(self, path: Path, root: RegistryRoot) -> str | None:
        if path in self._texts:  # e.g. a prompt file shared by several agents
            return self._texts[path]
        try:
            content = path.read_bytes()
            text = content.decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            self.issues.append(RegistryIssue(path, None, None, f"cannot read: {exc}"))
            return None
        relative = path.relative_to(root.base) if path.is_relative_to(root.base) else path
        self.sources.append((f"{root.label}:{relative.as_posix()}", content, path))
        self._texts[path] = text
        return text

    def document(self, path: Path, root: RegistryRoot, *, allow_empty: bool = False) -> PosDict | None:
        with contextlib.suppress(OSError):  # `read` reports an unreadable file
            if path.stat().st_size > MAX_YAML_BYTES:  # before reading it all into memory
                self.issues.append(
                    RegistryIssue(path, None, None, f"file is larger than {MAX_YAML_BYTES} bytes")
                )
                return None
        text = self.read(path, root)
        if text is None:
            return None
        try:
            doc, duplicates = _parse(path, text)
        except YamlDocError as exc:
            self.issues.append(RegistryIssue(exc.file, exc.line, None, exc.message))
            return None
        if doc is None and allow_empty:
            return PosDict()
        for key, pos in duplicates:
            self.issues.append(
                RegistryIssue(pos.file, pos.line, str(key), "duplicate key (only the last one would count)")
            )
        if not isinstance(doc, PosDict):
            self.issues.append(
                RegistryIssue(path, 1, None, "expected a mapping (key: value lines) at the top level")
            )
            return None
        return doc


def _validate(model: type[BaseModel], doc: PosDict, file: Path, issues: list[RegistryIssue]) -> Any:
    try:
        return model.model_validate(plain(doc))
    except ValidationError as exc:
        issues.extend(validation_issues(model, doc, file, exc))
        return None


def _yaml_files(directory: Path) -> list[Path]:
    return sorted(
        p for p in directory.glob("*.y*ml") if p.suffix in (".yaml", ".yml") and p.name[0] not in "_."
    )


def _agent_files(directory: Path) -> list[tuple[Path, str]]:
    """(file, default name) of every agent: `<name>.yaml` files and `<name>/agent.yaml` folders."""
    found = [(p, p.stem) for p in _yaml_files(directory)]
    for folder in sorted(p for p in directory.iterdir() if p.is_dir() and p.name[0] not in "_."):
        agent_file = next((folder / n for n in ("agent.yaml", "agent.yml") if (folder / n).is_file()), None)
        if agent_file is not None:
            found.append((agent_file, folder.name))
    return sorted(found)


def _prompt_text(
    agent: AgentSpec, doc: PosDict, file: Path, root: RegistryRoot, reader: _Reader
) -> str | None:
    declared = pos_of(doc, ("prompt_file",))
    target = ((declared.file if declared else file).parent / str(agent.prompt_file)).resolve()
    if not target.is_relative_to(root.agents.resolve()):
        message = f"prompt_file must stay inside the agents directory {root.agents}"
        reader.issues.append(issue_at(declared, file, "prompt_file", message))
        return None
    if not target.is_file():
        message = f"prompt file {agent.prompt_file!r} not found (looked for {target})"
        reader.issues.append(issue_at(declared, file, "prompt_file", message))
        return None
    text = reader.read(target, root)
    if text is not None and (problem := check_template_file(text, target, "prompt_file")):
        reader.issues.append(problem)
    return text


def _load_agents(roots: Sequence[RegistryRoot], reader: _Reader, broken: set[str]) -> dict[str, Loaded]:
    agents: dict[str, Loaded] = {}
    labels: dict[str, str] = {}
    for root in roots:
        if not root.agents.is_dir():
            continue
        defaults: PosDict | None = None
        if (root.agents / "_defaults.yaml").is_file():
            defaults = reader.document(root.agents / "_defaults.yaml", root, allow_empty=True)
            if defaults is None:  # reported; without the defaults every agent here would look broken
                broken.update(name for _, name in _agent_files(root.agents))
                continue
        for path, default_name in _agent_files(root.agents):
            own = reader.document(path, root)
            if own is None:
                broken.add(default_name)
                continue
            own = _with_default(own, "name", default_name)
            base = PosDict(defaults or {})
            base.pos = dict(defaults.pos) if defaults else {}
            if "prompt" in own or "prompt_file" in own:  # the agent's own prompt replaces the default's
                for key in ("prompt", "prompt_file"):
                    base.pop(key, None)
            doc = deep_merge(base, own)
            agent: AgentSpec | None = _validate(AgentSpec, doc, path, reader.issues)
            if agent is None:
                broken.add(str(own.get("name")))
                continue
            for field in ("greeting", "return_greeting", "prompt"):
                problem = check_template(getattr(agent, field), pos_of(doc, (field,)), path, field)
                if problem:
                    reader.issues.append(problem)
            text = _prompt_text(agent, doc, path, root, reader) if agent.prompt_file else None
            agent.bind_source(path, text)
            if agent.name in agents:
                first = agents[agent.name]
                message = f"duplicate agent name {agent.name!r} (already defined in {first.file})"
                if labels[agent.name] == "shipped" and root.label != "shipped":
                    message += "; an extra directory cannot redefine a shipped agent: pick another name"
                reader.issues.append(issue_at(pos_of(doc, ("name",)), path, "name", message))
                continue
            agents[agent.name] = Loaded(agent, doc, path)
            labels[agent.name] = root.label
    return agents


def _load_scenarios(roots: Sequence[RegistryRoot], reader: _Reader) -> dict[str, Loaded]:
    scenarios: dict[str, Loaded] = {}
    for root in roots:
        for path in _yaml_files(root.scenarios) if root.scenarios.is_dir() else []:
            doc = reader.document(path, root)
            if doc is None:
                continue
            doc = _with_default(doc, "name", path.stem)
            scenario: ScenarioSpec | None = _validate(ScenarioSpec, doc, path, reader.issues)
            if scenario is None:
                continue
            if scenario.name in scenarios:
                message = f"duplicate scenario name {scenario.name!r} (already defined in {scenarios[scenario.name].file})"
                reader.issues.append(issue_at(pos_of(doc, ("name",)), path, "name", message))
                continue
            scenarios[scenario.name] = Loaded(scenario, doc, path)
    return scenarios


def load_registry_from(
    roots: Sequence[RegistryRoot],
    *,
    tool_packages: Sequence[str] = SHIPPED_TOOL_PACKAGES,
    tool_dirs: Sequence[Path] = (),
) -> RegistrySnapshot:
    """Load the given layers (earlier roots first). Raises `RegistryError` listing every problem."""
    issues: list[RegistryIssue] = []
    reader = _Reader(issues)
    for root in roots:
        if root.label != "shipped" and not root.base.is_dir():
            issues.append(RegistryIssue(root.base, None, None, "registry directory does not exist"))
        elif root.label != "shipped" and not any(
            p is not None and p.is_dir() for p in (root.agents, root.scenarios, root.tools)
        ):
            issues.append(
                RegistryIssue(root.base, None, None, "expected agents/, scenarios/ or tools/ inside")
            )
    directories = [*tool_dirs, *(r.tools for r in roots if r.tools is not None and r.tools.is_dir())]
    tools = collect_tools(tool_packages, directories, issues)
    for index, path in enumerate(tool_files(directories)):
        content = path.read_bytes() if path.is_file() else b""
        reader.sources.append((f"tools:{index}:{path.name}", content, path))
    broken: set[str] = set()
    agents = _load_agents(roots, reader, broken)
    scenarios = _load_scenarios(roots, reader)
    check_agents(agents, tools, issues)
    graph = check_scenarios(scenarios, agents, tools, issues, broken)
    intake_tools = add_intake_tools(scenarios, agents, tools, graph, issues)
    check_rendering(scenarios, agents, issues)
    if issues:
        raise RegistryError(issues)
    return build_snapshot(
        agents={name: loaded.spec for name, loaded in agents.items()},
        scenarios=graph.scenarios,
        tools={**tools, **graph.handoff_tools, **intake_tools},
        agent_tools=graph.agent_tools,
        sources=reader.sources,
    )


def load_registry(
    extra_dirs: Sequence[Path] | None = None, *, tool_dirs: Sequence[Path] = (), shipped: bool = True
) -> RegistrySnapshot:
    """The shipped registry plus each extra directory's `agents/`, `scenarios/` and `tools/`.

    `tool_dirs` adds directories of `*.py` tool modules. `shipped=False` loads only the given directories
    (no shipped agents, scenarios or tools): for tests and for validating a standalone tree.
    """
    roots = [RegistryRoot.shipped()] if shipped else []
    roots += [RegistryRoot.directory(Path(d), f"extra{i}") for i, d in enumerate(extra_dirs or [])]
    return load_registry_from(
        roots, tool_packages=SHIPPED_TOOL_PACKAGES if shipped else (), tool_dirs=tool_dirs
    )
