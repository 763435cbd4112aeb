"""POST /api/v1/agents/refresh with a tool module that gives up at import: a 422 naming it, never a 500,
the previous registry live, and nothing of the half-imported module left to go live later."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx

from apps.acs_simulator.server import AcsSimulator
from tests.support import Backend, running_backend

HALF_LOADED = '''"""Registers a tool, then stops the import."""
from registries.toolstore import tool


@tool
def half_loaded() -> dict:
    """A tool defined before its module gives up."""
    return {}


raise SystemExit(3)
'''

INTERRUPTS = '''"""Stops its import the way Ctrl-C would."""
from registries.toolstore import tool


@tool
def interrupted_tool() -> dict:
    """Never makes it."""
    return {}


raise KeyboardInterrupt
'''

WHOLE = '''"""The fixed module."""
from registries.toolstore import tool


@tool
def whole_tool() -> dict:
    """Answers with nothing."""
    return {}
'''


async def _refresh(backend: Backend) -> httpx.Response:
    async with backend.admin() as admin:
        return await admin.post("/api/v1/agents/refresh")


async def _tool_names(backend: Backend) -> set[str]:
    async with backend.admin() as admin:
        response = await admin.get("/api/v1/tools")
    assert response.status_code == 200, response.text
    return {t["name"] for t in response.json()["tools"]}


def _loaded(stem: str) -> list[str]:
    return [name for name in sys.modules if name.startswith(f"_switchboard_tools_{stem}_")]


async def test_a_tool_module_raising_system_exit_or_keyboard_interrupt_is_a_422_and_leaves_nothing(
    simulator: AcsSimulator, tmp_path: Path
) -> None:
    tools = tmp_path / "tools"
    tools.mkdir()
    async with running_backend(simulator, agents_dir=tmp_path) as backend:
        good_version = backend.runtime.registry.current.version
        (tools / "exits.py").write_text(HALF_LOADED)

        for _ in range(2):  # the second refresh must not find a half-imported module to reuse
            refused = await _refresh(backend)
            assert refused.status_code == 422, refused.text
            [error] = refused.json()["errors"]
            assert error["file"] == str(tools / "exits.py") and error["line"] == 11, error
            assert error["message"] == "cannot import tool module: SystemExit: 3"
            assert backend.runtime.registry.current.version == good_version
            assert "half_loaded" not in await _tool_names(backend)
            assert _loaded("exits") == []

        (tools / "interrupts.py").write_text(INTERRUPTS)
        refused = await _refresh(backend)
        assert refused.status_code == 422, refused.text
        errors = {(Path(e["file"]).name, e["line"], e["message"]) for e in refused.json()["errors"]}
        assert errors == {
            ("exits.py", 11, "cannot import tool module: SystemExit: 3"),
            ("interrupts.py", 11, "cannot import tool module: KeyboardInterrupt"),
        }
        assert backend.runtime.registry.current.version == good_version
        assert _loaded("interrupts") == []

        (tools / "interrupts.py").unlink()
        (tools / "exits.py").write_text(WHOLE)
        fixed = await _refresh(backend)
        assert fixed.status_code == 200, fixed.text
        assert fixed.json()["changed"]["tools"]["added"] == ["whole_tool"]
        names = await _tool_names(backend)
        assert "whole_tool" in names and not {"half_loaded", "interrupted_tool"} & names

        (tools / "exits.py").unlink()
        removed = await _refresh(backend)
        assert removed.status_code == 200, removed.text
        assert not {"whole_tool", "half_loaded", "interrupted_tool"} & await _tool_names(backend)
