"""Render a tool's spoken reply the way the runtime does: its output's fields plus `args`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from registries.templates import render_text
from registries.toolstore import spec_of


def spoken(fn: Callable[..., Any], output: dict[str, Any], **args: Any) -> str:
    spec = spec_of(fn)
    assert spec is not None and spec.reply is not None, f"{fn.__name__} has no reply template"
    return render_text(spec.reply, {**output, "args": args}, collapse_whitespace=True)
