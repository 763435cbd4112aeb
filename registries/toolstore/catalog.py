"""The tool catalog: an immutable name -> ToolSpec mapping that invokes tools safely, and its discovery.

`invoke` never raises for a tool's failure: unknown tool, invalid arguments, a raising tool, a timeout or an
unserialisable result all come back as `ToolResult(ok=False, error=...)`, so a bad tool ends at most a turn.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import traceback
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import to_jsonable_python

from registries.templates import render_text
from registries.toolstore.context import ToolContext, ToolError
from registries.toolstore.decorator import ToolSpec
from registries.toolstore.discovery import collect_tools
from registries.validation import RegistryError, RegistryIssue

log = logging.getLogger(__name__)

ErrorType = Literal["unknown_tool", "invalid_arguments", "tool_error", "internal_error", "timeout"]
GENERIC_FAILURE = "Sorry, that didn't work on our side. Please try again, or ask to speak to a person."


class ToolErrorInfo(BaseModel):
    model_config = ConfigDict(frozen=True)
    type: ErrorType
    message: str  # safe to say to the caller


class ToolResult(BaseModel):
    model_config = ConfigDict(frozen=True)
    name: str
    ok: bool
    output: dict[str, Any] = {}
    error: ToolErrorInfo | None = None
    spoken: str | None = None  # the tool's reply template rendered (only when ok and the tool has one)
    duration_ms: float = 0.0

    def to_message(self) -> str:
        """The JSON content of the `tool` message handed back to the LLM."""
        body: dict[str, Any] = {"ok": True, **self.output} if self.ok else {"ok": False}
        if self.error:
            body["error"] = {"type": self.error.type, "message": self.error.message}
        return json.dumps(body, ensure_ascii=False, default=str)


class ToolCatalog(Mapping[str, ToolSpec]):
    """Immutable mapping of tool name -> ToolSpec."""

    __slots__ = ("_tools",)

    def __init__(self, tools: Mapping[str, ToolSpec] | Sequence[ToolSpec] = ()) -> None:
        items = tools.values() if isinstance(tools, Mapping) else tools
        self._tools = MappingProxyType({spec.name: spec for spec in items})

    def __getitem__(self, name: str) -> ToolSpec:
        return self._tools[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._tools)

    def __len__(self) -> int:
        return len(self._tools)

    def __repr__(self) -> str:
        return f"ToolCatalog({sorted(self._tools)})"

    def openai_tools(self) -> list[dict[str, Any]]:
        return [spec.openai_tool() for spec in self._tools.values()]

    async def invoke(
        self,
        name: str,
        arguments: dict[str, Any] | str | None,
        ctx: ToolContext,
        *,
        timeout: float | None = None,
    ) -> ToolResult:
        """Validate `arguments` (a dict, or the JSON string an LLM produced), run the tool, never raise."""
        spec = self._tools.get(name)
        if spec is None:
            return _failure(name, "unknown_tool", f"There is no tool named {name!r}.", time.perf_counter())
        return await invoke_tool(spec, arguments, ctx, timeout=timeout)


def _failure(name: str, kind: ErrorType, message: str, started: float) -> ToolResult:
    return ToolResult(
        name=name,
        ok=False,
        error=ToolErrorInfo(type=kind, message=message),
        duration_ms=(time.perf_counter() - started) * 1000,
    )


def _parse_arguments(arguments: dict[str, Any] | str | None) -> dict[str, Any]:
    if arguments is None or (isinstance(arguments, str) and not arguments.strip()):
        return {}
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except json.JSONDecodeError as exc:
            raise ValueError(f"arguments are not valid JSON ({exc.msg} at column {exc.colno})") from exc
    if not isinstance(arguments, dict):
        raise ValueError("arguments must be a JSON object")
    return arguments


def _argument_problems(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(p) for p in error["loc"]) or "arguments"
        if error["type"] == "extra_forbidden":
            problems.append(f"{where}: unexpected argument")
        elif error["type"] == "missing":
            problems.append(f"{where}: required argument is missing")
        else:
            problems.append(f"{where}: {error['msg']}")
    return "; ".join(problems)


def _output(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    jsonable = to_jsonable_python(value)
    return jsonable if isinstance(jsonable, dict) else {"result": jsonable}


def _where(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    return f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"


async def invoke_tool(
    spec: ToolSpec, arguments: dict[str, Any] | str | None, ctx: ToolContext, *, timeout: float | None = None
) -> ToolResult:
    """Run one tool (see `ToolCatalog.invoke`). Cancellation (barge-in, call end) propagates."""
    started = time.perf_counter()
    try:
        parsed = spec.arguments.model_validate(_parse_arguments(arguments))
    except ValueError as exc:  # pydantic.ValidationError is a ValueError too
        detail = _argument_problems(exc) if isinstance(exc, ValidationError) else str(exc)
        return _failure(
            spec.name, "invalid_arguments", f"Invalid arguments for {spec.name!r}: {detail}", started
        )
    kwargs = {name: getattr(parsed, name) for name in type(parsed).model_fields}
    if spec.context_param:
        kwargs[spec.context_param] = ctx
    try:
        if spec.is_async:
            pending = spec.function(**kwargs)
        else:
            pending = asyncio.to_thread(spec.function, **kwargs)
        value = await asyncio.wait_for(pending, timeout) if timeout is not None else await pending
        output = _output(value)
    except ToolError as exc:
        return _failure(spec.name, "tool_error", exc.message, started)
    except TimeoutError:
        log.warning("tool timed out", extra={"tool": spec.name, "timeout_s": timeout})
        return _failure(spec.name, "timeout", GENERIC_FAILURE, started)
    except Exception as exc:
        # The message and locals may hold caller data: log the type and where it happened, not the text.
        log.error(
            "tool failed", extra={"tool": spec.name, "error_type": type(exc).__name__, "at": _where(exc)}
        )
        return _failure(spec.name, "internal_error", GENERIC_FAILURE, started)
    spoken = None
    if spec.reply:
        try:
            variables = {**output, "args": parsed.model_dump(mode="json")}
            spoken = render_text(spec.reply, variables, collapse_whitespace=True) or None
        except Exception as exc:
            log.warning(
                "tool reply failed to render", extra={"tool": spec.name, "error_type": type(exc).__name__}
            )
    return ToolResult(
        name=spec.name,
        ok=True,
        output=output,
        spoken=spoken,
        duration_ms=(time.perf_counter() - started) * 1000,
    )


def discover_tools(
    packages: Sequence[str] = ("registries.toolstore.tools",), directories: Sequence[Path] = ()
) -> ToolCatalog:
    """Import every module of `packages` and every `*.py` in `directories`; collect the `@tool` functions.

    Raises `RegistryError` (file and line) for import errors and duplicate tool names.
    """
    issues: list[RegistryIssue] = []
    tools = collect_tools(packages, directories, issues)
    if issues:
        raise RegistryError(issues)
    return ToolCatalog(tools)
