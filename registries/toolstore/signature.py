"""From a Python function to what the LLM sees: description, argument model and JSON schema.

The argument model is a pydantic model built from the signature (type hints, defaults, `Annotated[..., Field()]`),
so the schema the LLM gets and the validation the arguments go through can never disagree.
"""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic.fields import FieldInfo

from registries.toolstore.context import ToolContext

_SECTION = re.compile(
    r"^(Args|Arguments|Parameters|Returns|Return|Yields|Raises|Examples?|Notes?|Attributes|See Also):\s*$"
)
_ARG = re.compile(r"^(\*{0,2}\w+)\s*(\([^)]*\))?\s*:\s*(.*)$")


class ToolDefinitionError(TypeError):
    """A function cannot be a tool as written. `file`/`line` locate the function."""

    def __init__(self, fn: Callable[..., Any], problem: str) -> None:
        code = getattr(fn, "__code__", None)
        self.file = code.co_filename if code else None
        self.line = code.co_firstlineno if code else None
        self.problem = problem
        super().__init__(f"tool {getattr(fn, '__qualname__', fn)!r}: {problem}")


def parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """(summary, {argument: description}) from a Google-style docstring.

    The summary is the text before the first section (`Args:`, `Returns:` ...), paragraphs kept, lines joined.
    """
    summary: list[str] = []
    args: dict[str, str] = {}
    section: str | None = None
    current: str | None = None
    arg_indent: int | None = None
    for raw in inspect.cleandoc(doc).splitlines():
        indent = len(raw) - len(raw.lstrip())
        header = _SECTION.match(raw) if indent == 0 else None
        if header:
            section, current, arg_indent = header.group(1), None, None
        elif section is None:
            summary.append(raw.strip())
        elif section in ("Args", "Arguments", "Parameters") and raw.strip():
            match = _ARG.match(raw.strip())
            if match and (arg_indent is None or indent <= arg_indent):
                arg_indent = indent
                current = match.group(1).lstrip("*")
                args[current] = match.group(3).strip()
            elif current is not None:
                args[current] = f"{args[current]} {raw.strip()}".strip()
    paragraphs = " ".join(line if line else "\n\n" for line in summary).split("\n\n")
    text = "\n\n".join(" ".join(p.split()) for p in paragraphs if p.strip())
    return text, args


def _has_description(annotation: Any, default: Any) -> bool:
    if isinstance(default, FieldInfo) and default.description:
        return True
    if typing.get_origin(annotation) is typing.Annotated:
        return any(isinstance(m, FieldInfo) and m.description for m in typing.get_args(annotation)[1:])
    return False


def _is_context(annotation: Any) -> bool:
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return isinstance(annotation, type) and issubclass(annotation, ToolContext)


def arguments_model(
    fn: Callable[..., Any], tool_name: str, arg_docs: dict[str, str]
) -> tuple[type[BaseModel], str | None]:
    """(pydantic model of the LLM-visible parameters, name of the injected ToolContext parameter or None)."""
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except Exception as exc:
        raise ToolDefinitionError(fn, f"cannot resolve its type hints: {exc}") from exc
    context_param: str | None = None
    fields: dict[str, Any] = {}
    for param in inspect.signature(fn).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise ToolDefinitionError(fn, f"*args/**kwargs ({param}) are not allowed: declare each argument")
        if param.kind is param.POSITIONAL_ONLY:
            raise ToolDefinitionError(fn, f"positional-only parameter {param.name!r} is not allowed")
        if param.name not in hints:
            raise ToolDefinitionError(fn, f"parameter {param.name!r} has no type annotation")
        annotation = hints[param.name]
        if _is_context(annotation):
            context_param = param.name
            continue
        default = ... if param.default is inspect.Parameter.empty else param.default
        doc = arg_docs.get(param.name)
        if doc and not _has_description(annotation, default):
            annotation = typing.Annotated[annotation, Field(description=doc)]
        fields[param.name] = (annotation, default)
    unknown = set(arg_docs) - set(fields) - {context_param}
    if unknown:
        raise ToolDefinitionError(
            fn, f"docstring Args describes unknown parameter(s): {', '.join(sorted(unknown))}"
        )
    model_name = "".join(part.title() for part in tool_name.split("_")) + "Arguments"
    try:
        model = create_model(model_name, __config__=ConfigDict(extra="forbid"), **fields)
        model.model_json_schema()
    except Exception as exc:
        raise ToolDefinitionError(fn, f"cannot build an argument schema: {exc}") from exc
    return model, context_param


def llm_schema(model: type[BaseModel]) -> dict[str, Any]:
    """An OpenAI function-calling `parameters` schema: self-contained (no $refs), no titles, closed object."""
    raw = model.model_json_schema()
    defs = raw.pop("$defs", {})

    def clean(node: Any, seen: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [clean(item, seen) for item in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            ref = node["$ref"].rsplit("/", 1)[-1]
            if ref in seen:
                raise ValueError(f"recursive type {ref!r} cannot be inlined")
            siblings = {k: v for k, v in node.items() if k != "$ref"}
            return clean({**defs[ref], **siblings}, (*seen, ref))
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "title" and isinstance(value, str):
                continue
            if key in ("properties", "$defs") and isinstance(value, dict):
                out[key] = {name: clean(sub, seen) for name, sub in value.items()}
            elif key == "const":
                out["enum"] = [value]
            else:
                out[key] = clean(value, seen)
        return out

    schema = clean(raw, ())
    return {
        "type": "object",
        "properties": schema.get("properties", {}),
        "required": schema.get("required", []),
        "additionalProperties": False,
    }
