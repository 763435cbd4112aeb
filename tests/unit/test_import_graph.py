"""The dependency direction of docs/architecture.md, checked on the source: `apps -> voice -> registries`, and
inside `voice` the orchestrators stand above the call session, which stands above the providers, audio and
transports. A lower module importing a higher one fails here with the offending line."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

ORCHESTRATORS = ("voice.speech_cascade", "voice.voicelive")
SESSION = "voice.session"
# Below the session: what any orchestrator or channel builds on.
FOUNDATIONS = ("voice.audio", "voice.stt", "voice.tts", "voice.llm", "voice.transports")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, imported module) for every absolute import in the file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.extend((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
    return found


def within(module: str, *packages: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def forbidden(importer: str, imported: str) -> str | None:
    """Why `importer` may not import `imported`, or None if it may."""
    if within(importer, "registries") and within(imported, "voice", "apps"):
        return "registries import nothing above them"
    if within(importer, "voice") and within(imported, "apps", "fastapi", "starlette"):
        return "voice never imports the app or a web framework"
    for orchestrator in ORCHESTRATORS:
        if (
            within(imported, orchestrator)
            and within(importer, "voice")
            and not within(importer, orchestrator)
        ):
            return f"only {orchestrator} itself (and apps/) may import {orchestrator}"
    if within(importer, *FOUNDATIONS) and within(imported, SESSION):
        return "providers, audio and transports stand below the call session"
    return None


def source_files(*packages: str) -> list[Path]:
    return sorted(p for package in packages for p in (ROOT / package).rglob("*.py"))


def test_no_import_runs_back_up() -> None:
    violations = []
    for path in source_files("voice", "registries"):
        importer = module_name(path)
        for line, imported in imports_of(path):
            reason = forbidden(importer, imported)
            if reason is not None:
                violations.append(f"{path.relative_to(ROOT)}:{line} imports {imported}: {reason}")
    assert violations == []


@pytest.mark.parametrize(
    ("importer", "imported"),
    [
        ("voice.session.recorder", "voice.speech_cascade.records"),
        ("voice.voicelive.turn_book", "voice.speech_cascade.speaker"),
        ("voice.stt.local", "voice.session.conversation"),
        ("voice.transports.acs", "apps.backend.settings"),
        ("registries.loader", "voice.llm.base"),
    ],
)
def test_the_rule_catches_each_kind_of_back_arrow(importer: str, imported: str) -> None:
    assert forbidden(importer, imported) is not None


def test_the_rule_allows_the_intended_direction() -> None:
    assert forbidden("voice.speech_cascade.cascade", "voice.session.idle") is None
    assert forbidden("voice.session.recorder", "voice.transcript") is None
    assert forbidden("apps.backend.calls.orchestrators", "voice.voicelive.orchestrator") is None
