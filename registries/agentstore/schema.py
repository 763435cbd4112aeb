"""Agent definitions as ops teams write them in YAML (one file or folder per agent).

Unknown keys are errors everywhere, so a typo never passes silently. Models are frozen: a loaded registry
snapshot is shared read-only by every call that started on it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
)

NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
_RATE = re.compile(r"^([+-]?)(\d{1,3})%$")


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelSpec(_Spec):
    """The LLM behind the agent (SpeechCascade)."""

    deployment: str | None = Field(
        default=None, description="Azure OpenAI deployment; None uses the provider default."
    )
    temperature: float = Field(default=0.3, ge=0, le=2)
    max_tokens: int = Field(default=300, gt=0, le=16384, description="Upper bound on one reply.")


class VoiceSpec(_Spec):
    """TTS voice (SpeechCascade)."""

    name: str | None = Field(
        default=None, description="TTS voice, e.g. en-US-AvaMultilingualNeural; None: default."
    )
    rate: str = Field(
        default="+0%",
        description='Speaking rate relative to the voice\'s normal rate, as a signed percentage like SSML prosody: "+10%" is 10% faster, "-15%" slower. Range -50% to +100%.',
    )
    style: str | None = Field(default=None, description="Speaking style (Azure express-as), e.g. 'friendly'.")

    @field_validator("rate")
    @classmethod
    def _check_rate(cls, value: str) -> str:
        match = _RATE.match(value.strip())
        if not match:
            raise ValueError('rate must be a signed percentage like "+10%" or "-5%"')
        if not -50 <= _percent(match) <= 100:
            raise ValueError("rate must be between -50% and +100%")
        return value.strip()

    @property
    def rate_multiplier(self) -> float:
        """The rate as a factor of the normal speed ("+10%" -> 1.1)."""
        match = _RATE.match(self.rate)
        return 1 + _percent(match) / 100 if match else 1.0


def _percent(match: re.Match[str]) -> int:
    return int(match.group(2)) * (-1 if match.group(1) == "-" else 1)


def _language_tag(tag: str) -> str:
    if not re.fullmatch(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*", tag):
        raise ValueError(f"{tag!r} is not a BCP-47 language tag like 'en-US'")
    return tag


LanguageTag = Annotated[str, AfterValidator(_language_tag)]


class SpeechSpec(_Spec):
    """Turn taking and recognition (SpeechCascade)."""

    end_of_turn_silence_ms: int = Field(
        default=600, ge=100, le=5000, description="Silence that ends the caller's turn."
    )
    languages: tuple[LanguageTag, ...] = Field(
        default=("en-US",), min_length=1, description="BCP-47 recognition languages."
    )
    barge_in: bool = Field(default=True, description="Whether the caller can interrupt the agent.")
    min_barge_in_ms: int = Field(default=300, ge=0, le=5000, description="Caller speech needed to interrupt.")
    unfinished_hold_ms: int = Field(
        default=700,
        ge=0,
        le=3000,
        description="Extra silence waited for when the caller's words so far are clearly unfinished "
        "('my account ends in'); 0 ends every turn after end_of_turn_silence_ms alone.",
    )
    turn_end: Literal["semantic", "fixed"] | None = Field(
        default=None,
        description="How the caller's turn ends: semantic (a short pause when it sounds complete, longer when "
        "not) or fixed (end_of_turn_silence_ms, held by unfinished_hold_ms); unset: the service's TURN_END_MODE.",
    )


class TurnDetectionSpec(_Spec):
    type: Literal["server_vad", "semantic_vad", "azure_semantic_vad"] = "server_vad"
    threshold: float | None = Field(default=None, ge=0, le=1)
    silence_duration_ms: int | None = Field(default=None, ge=0, le=5000)
    prefix_padding_ms: int | None = Field(default=None, ge=0, le=5000)


class VoiceLiveSpec(_Spec):
    """Session overrides for the VoiceLive orchestrator (None: the service default)."""

    voice: str | None = None
    turn_detection: TurnDetectionSpec | None = None


class HandoffTriggerSpec(_Spec):
    """How other agents reach this one: the tool they call, and what it is for."""

    trigger: str = Field(pattern=NAME_PATTERN, description="Tool name other agents call to hand off here.")
    description: str = Field(default="", description="Default description of the handoff tool.")
    examples: tuple[str, ...] = Field(default=(), description="Caller phrasings that should lead here.")


class AgentSpec(_Spec):
    name: str = Field(pattern=NAME_PATTERN)
    description: str = ""
    greeting: str = Field(min_length=1, description="Jinja template spoken when the agent answers.")
    return_greeting: str | None = Field(
        default=None, description="Jinja template spoken when a caller comes back."
    )
    prompt: str | None = Field(default=None, description="Inline Jinja system prompt (or use prompt_file).")
    prompt_file: str | None = Field(
        default=None, validate_default=True, description="Path of a .jinja prompt, relative to the YAML file."
    )
    model: ModelSpec = Field(default_factory=ModelSpec)
    voice: VoiceSpec = Field(default_factory=VoiceSpec)
    speech: SpeechSpec = Field(default_factory=SpeechSpec)
    voicelive: VoiceLiveSpec = Field(default_factory=VoiceLiveSpec)
    tools: tuple[str, ...] = Field(default=(), description="Names of the tools this agent may call.")
    handoff: HandoffTriggerSpec | None = None
    template_vars: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)

    _source: Path | None = PrivateAttr(None)
    _prompt_text: str | None = PrivateAttr(None)

    @field_validator("prompt_file")
    @classmethod
    def _exactly_one_prompt(cls, value: str | None, info: ValidationInfo) -> str | None:
        if "prompt" not in info.data:  # prompt itself is invalid and already reported
            return value
        prompt = info.data["prompt"]
        if value is not None and prompt is not None:
            raise ValueError("set either prompt or prompt_file, not both")
        if value is None and prompt is None:
            raise ValueError("an agent needs a prompt: set prompt (inline Jinja) or prompt_file")
        if value is not None and (Path(value).is_absolute() or not value.strip()):
            raise ValueError("prompt_file must be a path relative to the agent's YAML file")
        return value

    @field_validator("tools")
    @classmethod
    def _unique_tools(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        seen = [t for i, t in enumerate(value) if t in value[:i]]
        if seen:
            raise ValueError(f"tool {seen[0]!r} is listed twice")
        return value

    @property
    def source(self) -> Path | None:
        """The YAML file this agent was loaded from (None if built in code)."""
        return self._source

    @property
    def prompt_template(self) -> str:
        """The prompt's Jinja source: the inline prompt, or the content of prompt_file read at load time."""
        return self.prompt if self.prompt is not None else (self._prompt_text or "")

    def bind_source(self, source: Path | None, prompt_text: str | None = None) -> AgentSpec:
        """Record where the agent came from and its prompt file's text (loader use, before publishing)."""
        self._source = source
        self._prompt_text = prompt_text
        return self
