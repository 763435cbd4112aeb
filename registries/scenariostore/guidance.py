"""A scenario's guidance: the checklist a supervisor watches (items and how each is recognised in the
transcript) and the instructions a guidance model follows.

    guidance:
      instructions: Coach the agent to verify identity before discussing the account.
      checklist:
        - id: identity_verified
          label: Identity verified
          tools: [verify_identity]            # a successful call of one of these satisfies it
          agent_says: ["you're verified"]     # or the agent saying one of these
          caller_says: []                     # or the caller saying one of these
          not_applicable_after: [transfer_to_human]  # moot once one of these tools ran
"""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from registries.agentstore.schema import NAME_PATTERN


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChecklistItem(_Spec):
    id: str = Field(pattern=NAME_PATTERN, max_length=64)
    label: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", description="What counts as done (the guidance model reads it).")
    tools: tuple[str, ...] = Field(default=(), description="A successful call of one of these tools.")
    agent_says: tuple[str, ...] = Field(default=(), description="Phrases the agent says that satisfy it.")
    caller_says: tuple[str, ...] = Field(default=(), description="Phrases the caller says that satisfy it.")
    not_applicable_after: tuple[str, ...] = Field(
        default=(), description="Tools after which the item no longer applies (e.g. a transfer)."
    )

    @model_validator(mode="after")
    def _recognisable(self) -> Self:
        if not (self.tools or self.agent_says or self.caller_says):
            raise ValueError("a checklist item needs tools, agent_says or caller_says to be recognised by")
        return self


class GuidanceSpec(_Spec):
    instructions: str = Field(
        default="", max_length=4000, description="What the guidance model coaches towards (plain text)."
    )
    checklist: tuple[ChecklistItem, ...] = Field(default=(), max_length=30)

    @model_validator(mode="after")
    def _unique_ids(self) -> Self:
        ids = [item.id for item in self.checklist]
        twice = [i for n, i in enumerate(ids) if i in ids[:n]]
        if twice:
            raise ValueError(f"checklist item {twice[0]!r} is defined twice")
        return self
