"""Finding `@tool` functions: in importable packages (pkgutil) and in loose `*.py` files of a directory.

Loose files are imported by path under a module name derived from their path *and content*, so a refresh after a
file changed imports the new code, while an unchanged file is not executed again.

Whatever a module's code raises while it is imported or searched for tools, `SystemExit` and
`KeyboardInterrupt` included, is reported at its file and line, and the module (with any submodules it
registered) is dropped from `sys.modules`: nothing half-imported is picked up by a later load.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import pkgutil
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType, ModuleType
from typing import Any, TypeVar

from registries.toolstore.decorator import ToolSpec, spec_of
from registries.toolstore.signature import ToolDefinitionError
from registries.validation import RegistryIssue

_T = TypeVar("_T")
LOOSE_PREFIX = "_switchboard_tools_"  # module names of loose tool files: this, the file's stem, a digest


@contextlib.contextmanager
def _signals_noted() -> Iterator[list[int]]:
    """The SIGINT/SIGTERM this process receives meanwhile. Signal handlers run on the main thread only, so
    elsewhere (a refresh runs in a worker thread) a KeyboardInterrupt can only come from the code itself; on
    the main thread (startup, the CLI) a Ctrl-C shows up here and is told apart from a module's own raise."""
    received: list[int] = []
    replaced: dict[int, Callable[[int, FrameType | None], Any]] = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            handler = signal.getsignal(signum)
            if callable(handler):  # SIG_DFL/SIG_IGN never raise into Python code

                def noted(
                    sig: int,
                    frame: FrameType | None,
                    handler: Callable[[int, FrameType | None], Any] = handler,
                ) -> Any:
                    received.append(sig)
                    return handler(sig, frame)

                replaced[signum] = handler
                signal.signal(signum, noted)
    try:
        yield received
    finally:
        for replaced_signal, handler in replaced.items():
            signal.signal(replaced_signal, handler)


def _forget(name: str) -> None:
    """Drop module `name` and its submodules from `sys.modules`."""
    for key in [k for k in list(sys.modules) if k == name or k.startswith(f"{name}.")]:
        sys.modules.pop(key, None)


@dataclass(frozen=True)
class _Raised:
    exc: BaseException


def _module_code(name: str, run: Callable[..., _T], *args: Any) -> _T | _Raised:
    """`run(*args)`, which runs code of tool module `name`, or what it raised, with the module forgotten.
    Only an interrupt or stop of this very process (a signal received meanwhile) propagates."""
    with _signals_noted() as received:
        try:
            return run(*args)
        except BaseException as exc:
            _forget(name)
            if received and not isinstance(exc, Exception):
                raise
            return _Raised(exc)


def _import_issue(exc: BaseException, file: Path | str, doing: str = "import") -> RegistryIssue:
    if isinstance(exc, ToolDefinitionError) and exc.file:
        return RegistryIssue(exc.file, exc.line, "tool", exc.problem)
    if isinstance(exc, SyntaxError):
        return RegistryIssue(exc.filename or file, exc.lineno, None, f"syntax error: {exc.msg}")
    frames = traceback.extract_tb(exc.__traceback__)
    in_file = [f for f in frames if Path(f.filename) == Path(file)]
    line = in_file[-1].lineno if in_file else None
    what = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return RegistryIssue(file, line, None, f"cannot {doing} tool module: {what}")


def _package_modules(package: str, issues: list[RegistryIssue]) -> list[ModuleType]:
    root = _module_code(package, importlib.import_module, package)
    if isinstance(root, _Raised):
        issues.append(_import_issue(root.exc, package.replace(".", "/")))
        return []
    modules = [root]
    for info in pkgutil.iter_modules(getattr(root, "__path__", []), prefix=f"{package}."):
        if info.name.rsplit(".", 1)[-1].startswith("_"):
            continue
        if info.ispkg:
            modules.extend(_package_modules(info.name, issues))
            continue
        module = _module_code(info.name, importlib.import_module, info.name)
        if isinstance(module, _Raised):
            spec = info.module_finder.find_spec(info.name, None)
            issues.append(_import_issue(module.exc, (spec.origin if spec else None) or info.name))
            continue
        modules.append(module)
    return modules


def _file_module(path: Path, issues: list[RegistryIssue]) -> ModuleType | None:
    try:
        source = path.read_bytes()
    except OSError as exc:
        issues.append(RegistryIssue(path, None, None, f"cannot read: {exc.strerror or exc}"))
        return None
    digest = hashlib.sha256(str(path.resolve()).encode() + b"\0" + source).hexdigest()[:16]
    name = f"{LOOSE_PREFIX}{path.stem}_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        issues.append(RegistryIssue(path, None, None, "cannot import this file"))
        return None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # pydantic and dataclasses look classes' modules up here
    if isinstance(raised := _module_code(name, spec.loader.exec_module, module), _Raised):
        issues.append(_import_issue(raised.exc, path))
        return None
    return module


def loose_module(path: Path, issues: list[RegistryIssue]) -> ModuleType | None:
    """The module of the loose tool file `path`, imported once per content exactly as discovery imports it
    (another process that loaded the registry refers to its tools by this module's name)."""
    return _file_module(path, issues)


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
        found = _module_code(module.__name__, _module_tools, module)
        if isinstance(found, _Raised):
            file = getattr(module, "__file__", None) or module.__name__
            issues.append(_import_issue(found.exc, file, "search"))
            continue
        for spec in found:
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
