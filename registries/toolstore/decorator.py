"""`@tool`: turns a typed, documented function into a `ToolSpec` the agents can call.

The decorator registers nothing globally: it attaches a frozen `ToolSpec` as `fn.__switchboard_tool__` and returns
the function unchanged. Discovery (`catalog.discover_tools`) collects decorated functions into an immutable
catalog per registry snapshot, so reloading the registry never mutates what live calls are using.

    @tool(examples=["I lost my card", "my card was stolen"], reply="Your card ending {{ last4 }} is locked.")
    async def lock_card(
        ctx: ToolContext,
        last4: Annotated[str, Field(pattern=r"^\\d{4}$")],
        reason: Literal["lost", "stolen"] = "lost",
    ) -> LockResult:
        \"\"\"Lock the caller's card so no new payments go through.

        Args:
            last4: Last four digits of the card.
            reason: Why the card is being locked.
        \"\"\"

A tool that takes or returns personal data says so: `sensitive=True` (every argument and result field) or
`sensitive_fields=("date_of_birth", "balance_cents")` (those keys, at any depth of the arguments and result).
Stored transcripts and call events then show `"[redacted]"` for them; the tool itself gets the real values.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import inspect
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload

from pydantic import BaseModel

from registries.agentstore.schema import NAME_PATTERN
from registries.scenariostore.intake import IntakeForm
from registries.templates import template_error
from registries.toolstore.context import HandoffTarget
from registries.toolstore.signature import ToolDefinitionError, arguments_model, llm_schema, parse_docstring

ATTRIBUTE = "__switchboard_tool__"
_F = TypeVar("_F", bound=Callable[..., Any])


@dataclass(frozen=True, eq=False)
class ToolSpec:
    """A callable tool as the LLM and the orchestrators see it. Treat `parameters` as read-only."""

    name: str
    description: str
    parameters: dict[str, Any]  # JSON schema of the arguments (OpenAI function-calling `parameters`)
    examples: tuple[str, ...]
    reply: str | None  # Jinja template for a spoken reply, rendered with the output's fields and `args`
    is_async: bool
    function: Callable[..., Any] = field(repr=False)
    arguments: type[BaseModel] = field(repr=False)  # validates the LLM's arguments
    context_param: str | None = None  # name of the injected ToolContext parameter
    handoff: HandoffTarget | None = None  # set on generated handoff tools
    source: str | None = None  # file that defines the function
    line: int | None = None
    code: str = field(default="", repr=False)  # source text, so a changed body counts as a changed tool
    sensitive: bool = False  # every argument and result field is personal data (masked where stored)
    sensitive_fields: frozenset[str] = frozenset()  # argument/result keys (any depth) masked where stored
    intake: IntakeForm | None = None  # set on tools generated from a scenario's intake form
    routing_values: tuple[tuple[str, ...], ...] = ()
    """For a handoff tool: the enum value lists of the target agent's tools that the source agent's own tools
    lack ("twice" names a duplicate charge, which only card services can dispute), and the shapes of their
    identifiers as "#<shape>" ("#DDDDDDD": a claim number). The local brain's router counts a caller naming
    one as evidence for the handoff."""
    routing_texts: tuple[str, ...] = ()
    """For a handoff tool: the examples and descriptions of the target agent's tools that only that target
    offers (neither the source agent nor another agent the source hands off to has them). A caller asking for
    one of those ("they charged me twice") is asking for that agent, whatever the handoff's own examples say."""

    def openai_tool(self) -> dict[str, Any]:
        """`{"type": "function", "function": {name, description, parameters}}` (a fresh copy)."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": copy.deepcopy(self.parameters),
            },
        }

    def to_json(self) -> dict[str, Any]:
        return self._json(copy.deepcopy(self.parameters))

    def _json(self, parameters: dict[str, Any]) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "parameters": parameters,
            "examples": list(self.examples),
            "reply": self.reply,
            "is_async": self.is_async,
            "handoff": None if self.handoff is None else vars(self.handoff).copy(),
            "sensitive": self.sensitive,
            "sensitive_fields": sorted(self.sensitive_fields),
        }

    @property
    def location(self) -> str:
        return f"{self.source}:{self.line}" if self.source else "<generated>"

    @functools.cached_property
    def fingerprint(self) -> str:
        """Digest of everything that makes the tool what it is (schema, texts, handoff, code).

        Computed once per spec (it is frozen) and without copying the schema: every registry load
        fingerprints every tool, and a shipped tool's spec is the same object from load to load.
        """
        content = json.dumps({**self._json(self.parameters), "code": self.code}, sort_keys=True, default=str)
        return hashlib.sha256(content.encode()).hexdigest()


def build_tool_spec(
    fn: Callable[..., Any],
    *,
    name: str | None = None,
    examples: Sequence[str] = (),
    reply: str | None = None,
    sensitive: bool = False,
    sensitive_fields: Sequence[str] = (),
) -> ToolSpec:
    """The `ToolSpec` for `fn`. Raises `ToolDefinitionError` naming what is wrong with it."""
    if not inspect.isfunction(fn):
        raise ToolDefinitionError(fn, "only plain functions (def / async def) can be tools")
    tool_name = name or fn.__name__
    if not re.fullmatch(NAME_PATTERN, tool_name) or len(tool_name) > 64:
        raise ToolDefinitionError(
            fn, f"tool name {tool_name!r} must be lower_snake_case, at most 64 characters"
        )
    doc = inspect.getdoc(fn)
    if not doc or not doc.strip():
        raise ToolDefinitionError(fn, "needs a docstring: its summary is the description the LLM reads")
    description, arg_docs = parse_docstring(doc)
    if not description:
        raise ToolDefinitionError(fn, "the docstring needs a summary before its sections")
    if isinstance(examples, str) or not all(isinstance(e, str) and e.strip() for e in examples):
        raise ToolDefinitionError(fn, "examples must be a list of non-empty strings")
    if reply is not None and (problem := template_error(reply)):
        raise ToolDefinitionError(fn, f"reply template, line {problem[0]}: {problem[1]}")
    if not isinstance(sensitive, bool):
        raise ToolDefinitionError(fn, "sensitive must be True or False")
    if isinstance(sensitive_fields, str) or not all(isinstance(f, str) and f for f in sensitive_fields):
        raise ToolDefinitionError(fn, "sensitive_fields must be a list of argument or result field names")
    model, context_param = arguments_model(fn, tool_name, arg_docs)
    try:
        code = inspect.getsource(fn)
    except (OSError, TypeError):
        code = ""
    return ToolSpec(
        name=tool_name,
        description=description,
        parameters=llm_schema(model),
        examples=tuple(e.strip() for e in examples),
        reply=reply,
        is_async=inspect.iscoroutinefunction(fn),
        function=fn,
        arguments=model,
        context_param=context_param,
        source=fn.__code__.co_filename,
        line=fn.__code__.co_firstlineno,
        code=code,
        sensitive=sensitive,
        sensitive_fields=frozenset(sensitive_fields),
    )


@overload
def tool(fn: _F, /) -> _F: ...
@overload
def tool(
    fn: None = None,
    /,
    *,
    name: str | None = None,
    examples: Sequence[str] = (),
    reply: str | None = None,
    sensitive: bool = False,
    sensitive_fields: Sequence[str] = (),
) -> Callable[[_F], _F]: ...
def tool(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    examples: Sequence[str] = (),
    reply: str | None = None,
    sensitive: bool = False,
    sensitive_fields: Sequence[str] = (),
) -> Any:
    """Mark a function as a tool: `@tool` or `@tool(name=..., examples=[...], reply="...", sensitive=True)`.

    The function needs a docstring (summary = description; Google-style `Args:` = parameter descriptions) and a
    type annotation on every parameter. A parameter annotated `ToolContext` is injected, not asked of the LLM.
    `sensitive` / `sensitive_fields` mark personal data, masked wherever the call's turns are stored.
    """

    def decorate(function: _F) -> _F:
        spec = build_tool_spec(
            function,
            name=name,
            examples=examples,
            reply=reply,
            sensitive=sensitive,
            sensitive_fields=sensitive_fields,
        )
        setattr(function, ATTRIBUTE, spec)
        return function

    return decorate(fn) if fn is not None else decorate


def spec_of(obj: Any) -> ToolSpec | None:
    """The `ToolSpec` attached to `obj` by `@tool`, if any."""
    spec = getattr(obj, ATTRIBUTE, None) if callable(obj) else None
    return spec if isinstance(spec, ToolSpec) else None


__all__ = ["ToolDefinitionError", "ToolSpec", "build_tool_spec", "spec_of", "tool"]
