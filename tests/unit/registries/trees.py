"""Fixture registry trees: each test gets its own copy of `fixtures/helpdesk` to load or break, and helpers."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from registries.loader import RegistryError, RegistrySnapshot, load_registry

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A private copy of the helpdesk registry (agents/, scenarios/, tools/)."""
    return Path(shutil.copytree(FIXTURES / "helpdesk", tmp_path / "helpdesk"))


def write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def load(root: Path) -> RegistrySnapshot:
    """Only `root` (no shipped agents, scenarios or tools)."""
    return load_registry([root], shipped=False)


def problems(root: Path) -> list[str]:
    """Every issue loading `root` reports, as `file:line: field: message` with the tree's path shortened."""
    with pytest.raises(RegistryError) as caught:
        load(root)
    return [str(issue).replace(f"{root}/", "") for issue in caught.value.issues]
