"""Tool discovery: packages and loose files, re-imported when changed, with file:line for every problem."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytest

from registries.toolstore import discover_tools
from registries.validation import RegistryError

from .trees import write

TOOL = '''
from registries.toolstore import tool


@tool
def {name}() -> dict:
    """{doc}"""
    return {{"version": {version}}}
'''


def _tool_file(directory: Path, filename: str, name: str, doc: str = "A tool.", version: int = 1) -> Path:
    return write(directory, filename, TOOL.format(name=name, doc=doc, version=version))


def _issues(directory: Path) -> list[str]:
    with pytest.raises(RegistryError) as caught:
        discover_tools(packages=(), directories=[directory])
    return [str(i).replace(f"{directory}/", "") for i in caught.value.issues]


def test_every_py_file_of_a_directory_is_discovered_and_private_files_skipped(tmp_path: Path) -> None:
    _tool_file(tmp_path, "a.py", "alpha")
    _tool_file(tmp_path, "b.py", "beta")
    _tool_file(tmp_path, "_helpers.py", "hidden")
    assert sorted(discover_tools(packages=(), directories=[tmp_path])) == ["alpha", "beta"]


def test_a_changed_file_is_re_imported_on_the_next_discovery(tmp_path: Path) -> None:
    _tool_file(tmp_path, "a.py", "alpha", doc="First version.")
    first = discover_tools(packages=(), directories=[tmp_path])
    _tool_file(tmp_path, "a.py", "alpha", doc="Second version.", version=2)
    second = discover_tools(packages=(), directories=[tmp_path])
    assert first["alpha"].description == "First version."
    assert second["alpha"].description == "Second version."
    assert second["alpha"].function() == {"version": 2}
    assert first["alpha"].function() == {"version": 1}  # the old catalog keeps the old code


def test_an_unchanged_file_is_not_executed_again(tmp_path: Path) -> None:
    _tool_file(tmp_path, "a.py", "alpha")
    first = discover_tools(packages=(), directories=[tmp_path])
    again = discover_tools(packages=(), directories=[tmp_path])
    assert again["alpha"] is first["alpha"]


def test_imported_tools_are_not_counted_twice(tmp_path: Path) -> None:
    _tool_file(tmp_path, "a.py", "alpha")
    write(tmp_path, "b.py", "from registries.toolstore.catalog import ToolCatalog as _unused  # noqa\n")
    assert list(discover_tools(packages=(), directories=[tmp_path])) == ["alpha"]


def test_duplicate_tool_names_name_both_places(tmp_path: Path) -> None:
    _tool_file(tmp_path, "a.py", "alpha")
    _tool_file(tmp_path, "b.py", "alpha")
    [issue] = _issues(tmp_path)
    assert issue == "b.py:4: tool: duplicate tool name 'alpha' (already defined at a.py:4)"


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    write(tmp_path, "broken.py", "x = 1\ndef oops(:\n    pass\n")
    [issue] = _issues(tmp_path)
    assert issue.startswith("broken.py:2: syntax error:")


def test_import_error_names_file_and_line(tmp_path: Path) -> None:
    write(tmp_path, "needs.py", '"""Doc."""\n\nimport not_a_module_anywhere\n')
    [issue] = _issues(tmp_path)
    assert issue == (
        "needs.py:3: cannot import tool module: ModuleNotFoundError: No module named 'not_a_module_anywhere'"
    )


def test_a_bad_tool_definition_names_the_function(tmp_path: Path) -> None:
    write(
        tmp_path,
        "bad.py",
        """
        from registries.toolstore import tool


        @tool
        def undocumented(x: int) -> dict:
            return {}
        """,
    )
    [issue] = _issues(tmp_path)
    assert issue.startswith("bad.py:4: tool: needs a docstring")


def test_all_problems_are_reported_together(tmp_path: Path) -> None:
    write(tmp_path, "one.py", "def (:\n")
    write(tmp_path, "two.py", "import not_a_module_anywhere\n")
    assert len(_issues(tmp_path)) == 2


def test_packages_are_walked_with_pkgutil() -> None:
    catalog = discover_tools()  # the shipped registries.toolstore.tools package
    assert all(spec.source and "/registries/toolstore/tools/" in spec.source for spec in catalog.values())
    assert len(catalog) > 0


def _modules_of(stem: str) -> list[str]:
    return [name for name in sys.modules if name.startswith(f"_switchboard_tools_{stem}_")]


def test_a_module_raising_system_exit_is_reported_and_forgotten_with_its_submodules(tmp_path: Path) -> None:
    write(
        tmp_path,
        "quits.py",
        """
        import sys
        import types

        from registries.toolstore import tool


        @tool
        def half() -> dict:
            \"\"\"Defined before the module gives up.\"\"\"
            return {}


        sys.modules[f"{__name__}.helpers"] = types.ModuleType(f"{__name__}.helpers")
        sys.exit("configuration missing")
        """,
    )
    for _ in range(2):  # nothing half-imported is reused by the next discovery
        assert _issues(tmp_path) == [
            "quits.py:14: cannot import tool module: SystemExit: configuration missing"
        ]
        assert _modules_of("quits") == []


def test_a_module_raising_keyboard_interrupt_or_cancelled_error_is_reported(tmp_path: Path) -> None:
    write(tmp_path, "ctrl_c.py", "x = 1\nraise KeyboardInterrupt\n")
    write(tmp_path, "cancels.py", "import asyncio\n\nraise asyncio.CancelledError()\n")
    assert _issues(tmp_path) == [
        "cancels.py:3: cannot import tool module: CancelledError",
        "ctrl_c.py:2: cannot import tool module: KeyboardInterrupt",
    ]


def test_a_real_interrupt_during_an_import_still_stops_the_process(tmp_path: Path) -> None:
    write(
        tmp_path, "slow.py", "import signal\n\nsignal.raise_signal(signal.SIGINT)  # as if Ctrl-C came now\n"
    )
    with pytest.raises(KeyboardInterrupt):
        discover_tools(packages=(), directories=[tmp_path])
    assert _modules_of("slow") == []
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # our note-taker is gone again


def test_a_module_whose_attributes_raise_when_searched_is_reported(tmp_path: Path) -> None:
    write(
        tmp_path,
        "tricky.py",
        """
        class Trap:
            def __call__(self) -> None: ...

            def __getattr__(self, name: str) -> object:
                raise SystemExit(name)


        trap = Trap()
        """,
    )
    assert _issues(tmp_path) == ["tricky.py:5: cannot search tool module: SystemExit: __switchboard_tool__"]
    assert _modules_of("tricky") == []
