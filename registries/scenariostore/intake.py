"""A scenario's intake form: the structured result a call must yield (named, typed fields), and the red flags
that cut it short.

    intake:
      name: triage
      fields:
        - name: severity
          type: number
          integer: true
          minimum: 0
          maximum: 10
          description: How bad it is, from 0 (no pain) to 10 (the worst imaginable).
          question: On a scale from zero to ten, how bad is it?
      red_flags:
        - name: chest_pain
          phrases: [chest pain, pressure in my chest]

The agents fill the form during the call; a tool generated from it (`tool`, its JSON schema built from the
fields) records the result once every required field is filled and the caller confirmed the read-back.
"""

from __future__ import annotations

import re
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from registries.agentstore.schema import NAME_PATTERN

FieldType = Literal["text", "enum", "number", "date", "duration", "list"]

DURATION_PATTERN = r"^\d+(?:\.\d+)? (?:minute|hour|day|week|month|year)s?$"
"""How a duration is written in the result: a count and a unit, like "3 days" or "1 week"."""


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IntakeField(_Spec):
    """One thing the call must collect."""

    name: str = Field(pattern=NAME_PATTERN, max_length=64)
    type: FieldType
    description: str = Field(min_length=1, description="What the field holds (the LLM reads it).")
    required: bool = Field(default=True, description="Whether the intake is incomplete without it.")
    label: str | None = Field(default=None, description="Name in the read-back; default: the field name.")
    question: str | None = Field(
        default=None, description="What the agent asks for it; default: built from the description."
    )
    examples: tuple[str, ...] = Field(
        default=(), description="What callers say when answering it (speech recognition phrases)."
    )
    values: tuple[str, ...] = Field(default=(), description="enum: the allowed values.")
    minimum: float | None = Field(default=None, description="number: the lowest allowed value.")
    maximum: float | None = Field(default=None, description="number: the highest allowed value.")
    integer: bool = Field(default=False, description="number: whole numbers only.")
    pattern: str | None = Field(default=None, description="text: a regular expression the value must match.")
    max_length: int = Field(default=300, ge=1, le=2000, description="text and list items: longest value.")
    max_items: int = Field(default=10, ge=1, le=50, description="list: most items.")

    @model_validator(mode="after")
    def _options_fit_the_type(self) -> Self:
        if self.type == "enum":
            if len(self.values) < 2:
                raise ValueError("an enum field needs at least two values")
            if len(set(self.values)) != len(self.values):
                raise ValueError("enum values must be unique")
        elif self.values:
            raise ValueError(f"values only apply to enum fields, not {self.type}")
        if self.type != "number" and (self.minimum is not None or self.maximum is not None or self.integer):
            raise ValueError(f"minimum, maximum and integer only apply to number fields, not {self.type}")
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError("minimum is greater than maximum")
        if self.pattern is not None:
            if self.type != "text":
                raise ValueError(f"pattern only applies to text fields, not {self.type}")
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"pattern is not a valid regular expression: {exc}") from exc
        return self

    @property
    def spoken_label(self) -> str:
        return self.label or self.name.replace("_", " ")


class RedFlag(_Spec):
    """Something the caller may say that ends the intake at once and hands the call to a person."""

    name: str = Field(pattern=NAME_PATTERN, max_length=64)
    phrases: tuple[str, ...] = Field(
        min_length=1, description="Words that raise it, matched after normalising ('chest pain')."
    )
    examples: tuple[str, ...] = Field(
        default=(), description="Whole sentences callers say with it (speech recognition phrases)."
    )


class IntakeForm(_Spec):
    name: str = Field(default="intake", pattern=NAME_PATTERN, max_length=64)
    description: str = Field(
        default="", description="What the intake is for (the generated tool's description)."
    )
    tool: str | None = Field(
        default=None,
        pattern=NAME_PATTERN,
        max_length=64,
        description="Name of the generated tool that records the result; default: submit_<scenario>_intake.",
    )
    agents: tuple[str, ...] = Field(
        default=(), description="Agents that fill the form (get the tool); default: the start agent."
    )
    fields: tuple[IntakeField, ...] = Field(max_length=40)
    confirm: bool = Field(
        default=True, description="Read the answers back and wait for a yes before recording them."
    )
    summary_intro: str = Field(default="Let me read that back.", min_length=1)
    done_reply: str = Field(
        default="Thank you, I've recorded all of that.",
        min_length=1,
        description="Jinja template said once the result is recorded (variables: the fields).",
    )
    advice_reply: str | None = Field(
        default=None,
        min_length=1,
        description="Said when the caller asks for advice or a diagnosis while the form is open (the "
        "question is asked again after it); unset: the question is just asked again.",
    )
    red_flags: tuple[RedFlag, ...] = ()
    red_flag_tool: str = Field(
        default="transfer_to_human",
        pattern=NAME_PATTERN,
        description="Tool called at once when a red flag is said (the agent must have it).",
    )
    red_flag_reply: str = Field(
        default="That needs a person right away, so I'm connecting you now. Please stay on the line.",
        min_length=1,
        description="Said before the red-flag tool runs.",
    )

    @model_validator(mode="after")
    def _unique_names(self) -> Self:
        if not self.fields:  # checked here, not as a length bound, so broken fields are not reported twice
            raise ValueError("an intake form needs at least one field")
        for kind, names in (
            ("field", [f.name for f in self.fields]),
            ("red flag", [r.name for r in self.red_flags]),
        ):
            twice = [n for i, n in enumerate(names) if n in names[:i]]
            if twice:
                raise ValueError(f"{kind} {twice[0]!r} is defined twice")
        return self

    def tool_name(self, scenario: str) -> str:
        return self.tool or f"submit_{scenario}_intake"

    def field(self, name: str) -> IntakeField | None:
        return next((f for f in self.fields if f.name == name), None)
