"""The tool generated from a scenario's intake form (nobody writes it by hand).

Its arguments model, and so the JSON schema an LLM fills, is built from the form's fields: text -> string,
enum -> one of the values, number -> number (integer) within the bounds, date -> ISO date, duration -> "3 days",
list -> array of strings. Required fields are required; the others may be null. Calling it records the
completed intake on the call (`ctx.session["intake"]`) and returns it marked `intake_complete`, which is what
the app turns into the completion event and the stored result.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic_core import to_jsonable_python

from registries.scenariostore.intake import DURATION_PATTERN, IntakeField, IntakeForm
from registries.toolstore.context import ToolContext
from registries.toolstore.decorator import ToolSpec
from registries.toolstore.signature import llm_schema

COMPLETE_KEY = "intake_complete"
"""The output key that marks a tool result as a completed intake (`{"intake_complete": true, ...}`)."""
SESSION_KEY = "intake"


class _FormArguments(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _annotation(field: IntakeField) -> Any:
    described = Field(description=field.description)
    if field.type == "text":
        return Annotated[
            str, described, Field(min_length=1, max_length=field.max_length, pattern=field.pattern)
        ]
    if field.type == "enum":
        return Annotated[Literal[field.values], described]
    if field.type == "number":
        number: Any = int if field.integer else float
        low, high = field.minimum, field.maximum
        if field.integer:  # an integer field's bounds read as integers in its schema
            low, high = (None if b is None else int(b) for b in (low, high))
        return Annotated[number, described, Field(ge=low, le=high)]
    if field.type == "date":
        return Annotated[date, described]
    if field.type == "duration":
        hint = f"{field.description} Written as a count and a unit, like '3 days' or '2 hours'."
        return Annotated[str, Field(description=hint, pattern=DURATION_PATTERN)]
    item = Annotated[str, Field(min_length=1, max_length=field.max_length)]
    hint = f"{field.description} An empty list when there are none."
    return Annotated[list[item], Field(description=hint, max_length=field.max_items)]


def arguments_model(form: IntakeForm, tool: str) -> type[BaseModel]:
    """The pydantic model that validates the tool's arguments (and gives its JSON schema)."""
    fields: dict[str, Any] = {}
    for field in form.fields:
        annotation = _annotation(field)
        fields[field.name] = (annotation, ...) if field.required else (annotation | None, None)
    model: type[BaseModel] = create_model(f"{tool}_arguments", __base__=_FormArguments, **fields)
    return model


def intake_description(form: IntakeForm) -> str:
    base = form.description or f"Record the completed {form.name.replace('_', ' ')} intake."
    if form.confirm:
        base += " Call it only once every required field is known and the caller confirmed the read-back."
    return base


def intake_tool(form: IntakeForm, scenario: str) -> ToolSpec:
    """The generated tool that records `form`'s result in `scenario`'s calls."""
    name = form.tool_name(scenario)
    model = arguments_model(form, name)

    async def record_intake(ctx: ToolContext, **values: Any) -> dict[str, Any]:
        result = to_jsonable_python(values)
        ctx.session[SESSION_KEY] = {"form": form.name, "result": result}
        return {COMPLETE_KEY: True, "form": form.name, "result": result}

    record_intake.__name__ = record_intake.__qualname__ = name
    # What callers say while filling it: speech recognition is biased towards these (red flags included).
    said = [
        *(e for f in form.fields for e in f.examples),
        *(p for r in form.red_flags for p in (*r.examples, *r.phrases)),
    ]
    examples = tuple(dict.fromkeys(said))
    return ToolSpec(
        name=name,
        description=intake_description(form),
        parameters=llm_schema(model),
        examples=examples,
        reply=form.done_reply,
        is_async=True,
        function=record_intake,
        arguments=model,
        context_param="ctx",
        code=form.model_dump_json(),  # a changed form is a changed tool
        intake=form,
    )
