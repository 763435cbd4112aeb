"""Finding `@tool` functions: in importable packages (pkgutil) and in loose `*.py` files of a directory.

Loose files are imported by path under a module name derived from their path *and content*, so a refresh after a
file changed imports the new code, while an unchanged file is not executed again.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import pkgutil
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from registries.toolstore.decorator import ToolSpec, spec_of
from registries.toolstore.signature import ToolDefinitionError
from registries.validation import RegistryIssue


def _import_issue(exc: BaseException, file: Path | str) -> RegistryIssue:
    if isinstance(exc, ToolDefinitionError) and exc.file:
        return RegistryIssue(exc.file, exc.line, "tool", exc.problem)
    if isinstance(exc, SyntaxError):
        return RegistryIssue(exc.filename or file, exc.lineno, None, f"syntax error: {exc.msg}")
    frames = traceback.extract_tb(exc.__traceback__)
    in_file = [f for f in frames if Path(f.filename) == Path(file)]
    line = in_file[-1].lineno if in_file else None
    return RegistryIssue(file, line, None, f"cannot import tool module: {type(exc).__name__}: {exc}")


def _package_modules(package: str, issues: list[RegistryIssue]) -> list[ModuleType]:
    try:
        root = importlib.import_module(package)
    except Exception as exc:
        issues.append(_import_issue(exc, package.replace(".", "/")))
        return []
    modules = [root]
    for info in pkgutil.iter_modules(getattr(root, "__path__", []), prefix=f"{package}."):
        if info.name.rsplit(".", 1)[-1].startswith("_"):
            continue
        if info.ispkg:
            modules.extend(_package_modules(info.name, issues))
            continue
        try:
            modules.append(importlib.import_module(info.name))
        except Exception as exc:
            spec = info.module_finder.find_spec(info.name, None)
            issues.append(_import_issue(exc, (spec.origin if spec else None) or info.name))
    return modules


def _file_module(path: Path, issues: list[RegistryIssue]) -> ModuleType | None:
    try:
        source = path.read_bytes()
    except OSError as exc:
        issues.append(RegistryIssue(path, None, None, f"cannot read: {exc.strerror or exc}"))
        return None
    digest = hashlib.sha256(str(path.resolve()).encode() + b"\0" + source).hexdigest()[:16]
    name = f"_switchboard_tools_{path.stem}_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        issues.append(RegistryIssue(path, None, None, "cannot import this file"))
        return None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # pydantic and dataclasses look classes' modules up here
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        issues.append(_import_issue(exc, path))
        return None
    return module


def _module_tools(module: ModuleType) -> list[ToolSpec]:
    """Tools defined in `module` itself (not ones it imported from elsewhere)."""
    return [
        spec
        for value in list(vars(module).values())
        if (spec := spec_of(value)) is not None and getattr(value, "__module__", None) == module.__name__
    ]


def collect_tools(
    packages: Sequence[str], directories: Sequence[Path], issues: list[RegistryIssue]
) -> dict[str, ToolSpec]:
    """All tools of `packages` and `directories` by name; problems are appended to `issues`."""
    modules = [m for package in packages for m in _package_modules(package, issues)]
    for directory in directories:
        if not directory.is_dir():
            issues.append(RegistryIssue(directory, None, None, "tool directory does not exist"))
            continue
        for path in sorted(directory.glob("*.py")):
            if not path.name.startswith((".", "_")) and (module := _file_module(path, issues)) is not None:
                modules.append(module)
    tools: dict[str, ToolSpec] = {}
    for module in modules:
        for spec in _module_tools(module):
            first = tools.get(spec.name)
            if first is None:
                tools[spec.name] = spec
            elif first.function is not spec.function:
                issues.append(
                    RegistryIssue(
                        spec.source or module.__name__,
                        spec.line,
                        "tool",
                        f"duplicate tool name {spec.name!r} (already defined at {first.location})",
                    )
                )
    return tools


def tool_files(directories: Sequence[Path]) -> list[Path]:
    """The loose tool files discovery imports from `directories` (for the registry's sources and version)."""
    return [
        p
        for d in directories
        if d.is_dir()
        for p in sorted(d.glob("*.py"))
        if not p.name.startswith((".", "_"))
    ]
