"""Registry problems: every one is collected (not just the first) and names its file, line and field."""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from registries.templates import template_error
from registries.yamldoc import Pos, pos_of


@dataclass(frozen=True)
class RegistryIssue:
    """One problem in the registry sources. `str()` is `file:line: field: message`."""

    file: Path | str
    line: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else str(self.file)
        return f"{where}: {self.field + ': ' if self.field else ''}{self.message}"

    def to_json(self) -> dict[str, Any]:
        return {"file": str(self.file), "line": self.line, "field": self.field, "message": self.message}


class RegistryError(Exception):
    """The registry sources have problems; `issues` lists all of them (sorted by file and line)."""

    def __init__(self, issues: Iterable[RegistryIssue]) -> None:
        unique = list(dict.fromkeys(issues))
        self.issues = sorted(unique, key=lambda i: (str(i.file), i.line or 0))
        super().__init__("\n".join(str(i) for i in self.issues))

    def to_json(self) -> list[dict[str, Any]]:
        return [issue.to_json() for issue in self.issues]


def issue_at(pos: Pos | None, file: Path, field: str | None, message: str) -> RegistryIssue:
    """An issue at `pos` if known, else at the top of `file`."""
    return RegistryIssue(pos.file if pos else file, pos.line if pos else 1, field, message)


def field_path(loc: Sequence[Any]) -> str | None:
    """`("handoffs", 0, "to")` -> `handoffs[0].to`."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or None


def suggestion(name: str, candidates: Iterable[str]) -> str:
    """` (did you mean 'x'?)` for the closest candidate, or an empty string."""
    close = difflib.get_close_matches(name, sorted(set(candidates)), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType, list, tuple, dict, typing.Annotated):
        for arg in typing.get_args(annotation):
            if (found := _nested_model(arg)) is not None:
                return found
    return None


def _keys_at(model: type[BaseModel], loc: Sequence[Any]) -> list[str]:
    """The keys a YAML mapping may have at `loc` inside `model`."""
    current: type[BaseModel] | None = model
    for part in loc:
        if current is None:
            return []
        if isinstance(part, int):
            continue
        field = next(
            (f for n, f in current.model_fields.items() if part in (n, f.alias)),
            None,
        )
        current = _nested_model(field.annotation) if field else None
    if current is None:
        return []
    return [f.alias or n for n, f in current.model_fields.items()]


def validation_issues(
    model: type[BaseModel], doc: Any, file: Path, exc: ValidationError
) -> list[RegistryIssue]:
    """Map a pydantic error on `doc` (a positioned YAML document) to issues at the offending lines."""
    issues = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        if error["type"] == "extra_forbidden" and loc:
            key = str(loc[-1])
            message = f"unknown key {key!r}{suggestion(key, _keys_at(model, loc[:-1]))}"
        elif error["type"] == "missing":
            message = "required field is missing"
        else:
            message = error["msg"]
            if message.startswith("Value error, "):
                message = message.removeprefix("Value error, ")
        issues.append(issue_at(pos_of(doc, loc), file, field_path(loc), message))
    return issues


def check_template(source: str | None, pos: Pos | None, file: Path, field: str) -> RegistryIssue | None:
    """A Jinja syntax error in an inline template, reported at its line in the YAML file."""
    if not source:
        return None
    problem = template_error(source)
    if problem is None:
        return None
    line, message = problem
    return RegistryIssue(pos.file if pos else file, pos.text_line(line) if pos else None, field, message)


def check_template_file(source: str, file: Path, field: str) -> RegistryIssue | None:
    """A Jinja syntax error in a template file (`prompt_file`), reported at its line in that file."""
    problem = template_error(source)
    return RegistryIssue(file, problem[0], field, problem[1]) if problem else None
