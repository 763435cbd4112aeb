"""The `@tool` decorator: the JSON schema the LLM sees comes from type hints and the docstring."""

from __future__ import annotations

import enum
from datetime import date
from typing import Annotated, Literal

import pytest
from pydantic import Field

from registries.toolstore import ToolContext, ToolDefinitionError, ToolSpec, spec_of, tool


class Channel(enum.Enum):
    """How to send the code."""

    SMS = "sms"
    EMAIL = "email"


@tool(examples=["book me in", "I need an appointment"], reply="Booked for {{ day }}.")
async def book_visit(
    ctx: ToolContext,
    day: date,
    slot: Literal["morning", "afternoon"],
    party_size: Annotated[int, Field(ge=1, le=8, description="People coming.")] = 1,
    channel: Channel = Channel.SMS,
    note: str | None = None,
) -> dict:
    """Book a branch visit for the caller.

    Longer explanation for the model.

    Args:
        day: The day of the visit.
        slot: Part of the day
            the caller prefers.
        party_size: Ignored, because Field(description=...) wins.
        ctx: The call (injected).

    Returns:
        The booking.
    """
    return {}


def test_decorated_function_is_returned_unchanged_with_a_frozen_spec_attached() -> None:
    spec = spec_of(book_visit)
    assert isinstance(spec, ToolSpec)
    assert book_visit.__name__ == "book_visit"
    assert spec.name == "book_visit" and spec.is_async
    assert spec.examples == ("book me in", "I need an appointment")
    assert spec.reply == "Booked for {{ day }}."
    with pytest.raises(AttributeError):
        spec.name = "other"  # type: ignore[misc]


def test_description_is_the_docstring_before_its_sections() -> None:
    assert (
        spec_of(book_visit).description
        == "Book a branch visit for the caller.\n\nLonger explanation for the model."
    )


def test_schema_is_a_closed_openai_object_without_the_context_parameter() -> None:
    parameters = spec_of(book_visit).parameters
    assert parameters["type"] == "object"
    assert parameters["additionalProperties"] is False
    assert list(parameters["properties"]) == ["day", "slot", "party_size", "channel", "note"]
    assert parameters["required"] == ["day", "slot"]
    assert "ctx" not in parameters["properties"]
    assert spec_of(book_visit).context_param == "ctx"


def test_schema_types_enums_defaults_and_descriptions() -> None:
    props = spec_of(book_visit).parameters["properties"]
    assert props["day"] == {"type": "string", "format": "date", "description": "The day of the visit."}
    assert props["slot"] == {
        "type": "string",
        "enum": ["morning", "afternoon"],
        "description": "Part of the day the caller prefers.",
    }
    assert props["party_size"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 8,
        "default": 1,
        "description": "People coming.",
    }
    assert props["channel"]["enum"] == ["sms", "email"] and props["channel"]["default"] == "sms"
    assert props["note"]["anyOf"] == [{"type": "string"}, {"type": "null"}]


def test_schema_is_self_contained_and_has_no_titles() -> None:
    text = str(spec_of(book_visit).parameters)
    assert "$ref" not in text and "$defs" not in text and "'title'" not in text


def test_openai_tool_shape_is_a_fresh_copy() -> None:
    spec = spec_of(book_visit)
    first = spec.openai_tool()
    assert first["type"] == "function"
    assert first["function"]["name"] == "book_visit"
    first["function"]["parameters"]["properties"].clear()
    assert spec.openai_tool()["function"]["parameters"]["properties"]


def test_a_parameter_named_title_is_kept() -> None:
    @tool
    def rename(title: str) -> dict:
        """Rename the thing."""
        return {}

    assert spec_of(rename).parameters["properties"] == {"title": {"type": "string"}}


def test_bare_decorator_and_name_override() -> None:
    @tool(name="get_time")
    def now() -> dict:
        """Tell the time."""
        return {}

    spec = spec_of(now)
    assert spec.name == "get_time" and not spec.is_async
    assert spec.parameters == {
        "type": "object",
        "properties": {},
        "required": [],
        "additionalProperties": False,
    }


def test_no_docstring_is_an_error_at_decoration_time() -> None:
    with pytest.raises(ToolDefinitionError, match="needs a docstring"):

        @tool
        def silent(x: int) -> dict:
            return {}


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("def f(*names: str) -> dict:\n    '''Doc.'''", r"\*args/\*\*kwargs"),
        ("def f(**extra: str) -> dict:\n    '''Doc.'''", r"\*args/\*\*kwargs"),
        ("def f(x) -> dict:\n    '''Doc.'''", "parameter 'x' has no type annotation"),
        (
            "def f(x: int) -> dict:\n    '''Doc.\n\n    Args:\n        y: Gone.\n    '''",
            "unknown parameter.*y",
        ),
        ("def Bad(x: int) -> dict:\n    '''Doc.'''", "lower_snake_case"),
    ],
)
def test_invalid_signatures_are_errors_at_decoration_time(source: str, problem: str) -> None:
    namespace: dict = {}
    exec(source, namespace)
    function = next(v for k, v in namespace.items() if callable(v) and not k.startswith("__"))
    with pytest.raises(ToolDefinitionError, match=problem):
        tool(function)


def test_reply_template_with_a_syntax_error_is_an_error_at_decoration_time() -> None:
    with pytest.raises(ToolDefinitionError, match="reply template, line 1: Jinja syntax error"):

        @tool(reply="Done {{ oops")
        def finish() -> dict:
            """Finish."""
            return {}


def test_decorating_registers_nothing_globally() -> None:
    @tool
    def private_helper() -> dict:
        """Not discovered unless its module is."""
        return {}

    from registries.toolstore import discover_tools

    assert "private_helper" not in discover_tools(packages=())
