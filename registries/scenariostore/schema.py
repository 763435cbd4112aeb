"""Scenario definitions: which agents take part in a call, which one answers, and how they hand off."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from registries.agentstore.schema import NAME_PATTERN
from registries.scenariostore.guidance import GuidanceSpec
from registries.scenariostore.intake import IntakeForm

E164_PATTERN = r"^\+[1-9]\d{1,14}$"


def normalize_number(dialed: str) -> str:
    """`4:+1 (425) 555-0100`, `tel:+14255550100` -> `+14255550100` (ACS raw ids carry a `4:` prefix)."""
    number = dialed.strip()
    for prefix in ("4:", "tel:"):
        number = number.removeprefix(prefix)
    return re.sub(r"[\s().-]", "", number)


def _e164(number: str) -> str:
    if not re.fullmatch(E164_PATTERN, number):
        raise ValueError(f"{number!r} is not an E.164 number like '+14255550100'")
    return number


PhoneNumber = Annotated[str, AfterValidator(_e164)]

RedactionKind = Literal["card", "account", "ssn", "dob", "dtmf", "sensitive_tools"]
REDACTION_KINDS: tuple[RedactionKind, ...] = ("card", "account", "ssn", "dob", "dtmf", "sensitive_tools")


class RedactionSpec(BaseModel):
    """What is masked where a call's turns are stored or published (transcripts, call events). The agent
    itself always hears and uses the real values."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(default=True, description="False turns redaction off for this scenario's calls.")
    kinds: tuple[RedactionKind, ...] = Field(
        default=REDACTION_KINDS, description="What to mask; default: every kind."
    )


class HandoffEdge(BaseModel):
    """`from` may hand the call to `to` by calling `tool` (generated; its description is `condition`)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, serialize_by_alias=True)

    from_agent: str = Field(alias="from", pattern=NAME_PATTERN)
    to: str = Field(pattern=NAME_PATTERN)
    tool: str | None = Field(
        default=None,
        pattern=NAME_PATTERN,
        description="Handoff tool name; default: the target agent's handoff.trigger, else handoff_to_<to>.",
    )
    type: Literal["announced", "discrete"] = Field(
        default="announced",
        description="announced: the new agent greets the caller; discrete: it just carries on.",
    )
    share_context: bool = Field(
        default=True, description="Whether the new agent sees the conversation so far."
    )
    condition: str = Field(
        default="", description="When to hand off (natural language); the handoff tool's description."
    )


class ScenarioSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=NAME_PATTERN)
    description: str = ""
    start_agent: str = Field(pattern=NAME_PATTERN)
    agents: tuple[str, ...] = Field(min_length=1)
    handoffs: tuple[HandoffEdge, ...] = ()
    template_vars: dict[str, Any] = Field(default_factory=dict)
    phone_numbers: tuple[PhoneNumber, ...] = Field(
        default=(), description="E.164 numbers that route to this scenario."
    )
    orchestrator: Literal["cascade", "voicelive"] | None = Field(
        default=None,
        description="Who runs this scenario's calls: cascade or voicelive. None: the ORCHESTRATOR setting.",
    )
    redaction: RedactionSpec | None = Field(
        default=None,
        description="PII masking of stored transcripts and call events. None: the REDACT_TRANSCRIPTS setting.",
    )
    intake: IntakeForm | None = Field(
        default=None, description="The structured result the call must yield (see scenariostore/intake.py)."
    )
    guidance: GuidanceSpec | None = Field(
        default=None,
        description="Supervisor checklist and guidance instructions (scenariostore/guidance.py).",
    )
    transfer: Literal["cold", "warm"] = Field(
        default="cold",
        description="cold: hand the caller straight to the human queue. warm: hold the caller, ring the queue, "
        "brief whoever answers, then join them (nobody answering: back to the caller, callback offered).",
    )
    transfer_target: PhoneNumber | None = Field(
        default=None,
        description="This scenario's human queue number. None: the TRANSFER_TARGET_NUMBER setting.",
    )
    transfer_answer_timeout_s: int | None = Field(
        default=None,
        ge=1,
        le=180,
        description="Warm transfer: how long the queue may ring. None: WARM_TRANSFER_ANSWER_TIMEOUT_SECONDS.",
    )
    voicemail_message: str | None = Field(
        default=None,
        max_length=1000,
        description="Outbound calls answered by a voicemail: what the agent says after the beep before "
        "hanging up. None: hang up without a message.",
    )

    recording: Literal["off", "caller", "both"] = Field(
        default="off",
        description="Call recording: off (nothing is kept), caller (the caller only) or both (stereo: caller "
        "left, agent right, as the caller heard it).",
    )
    recording_consent: str = Field(
        default="This call is recorded for quality and training purposes.",
        min_length=1,
        description="Said after the first greeting when recording is on.",
    )

    def handoffs_from(self, agent: str) -> list[HandoffEdge]:
        return [edge for edge in self.handoffs if edge.from_agent == agent]
