"""Usage amounts: what one provider did for one call, in the units it is billed in.

Every field is a count of real work reported by the provider or measured from what we sent it. Embedded
providers report their work (audio seconds, characters, requests) and never token counts they do not have.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

AMOUNT_FIELDS = (
    "requests",
    "input_tokens",
    "cached_input_tokens",
    "output_tokens",
    "input_text_tokens",
    "cached_input_text_tokens",
    "input_audio_tokens",
    "cached_input_audio_tokens",
    "output_text_tokens",
    "output_audio_tokens",
    "stt_audio_seconds",
    "tts_characters",
    "acs_call_minutes",
    "acs_media_minutes",
    "unknown_events",
)


class UsageAmounts(BaseModel):
    """Additive counters. Chat models fill `input/cached_input/output_tokens`; realtime models fill the text
    and audio split (their `response.done` usage); `unknown_events` counts usage reports we could not read."""

    model_config = ConfigDict(extra="forbid")

    requests: int = Field(0, ge=0)
    input_tokens: int = Field(0, ge=0)
    cached_input_tokens: int = Field(0, ge=0)
    """Included in `input_tokens` (as the APIs report it); priced at the cached rate instead."""
    output_tokens: int = Field(0, ge=0)
    input_text_tokens: int = Field(0, ge=0)
    cached_input_text_tokens: int = Field(0, ge=0)
    input_audio_tokens: int = Field(0, ge=0)
    cached_input_audio_tokens: int = Field(0, ge=0)
    output_text_tokens: int = Field(0, ge=0)
    output_audio_tokens: int = Field(0, ge=0)
    stt_audio_seconds: float = Field(0.0, ge=0)
    tts_characters: int = Field(0, ge=0)
    acs_call_minutes: float = Field(0.0, ge=0)
    acs_media_minutes: float = Field(0.0, ge=0)
    unknown_events: int = Field(0, ge=0)

    def plus(self, other: UsageAmounts) -> UsageAmounts:
        return UsageAmounts(**{name: getattr(self, name) + getattr(other, name) for name in AMOUNT_FIELDS})

    def minus(self, other: UsageAmounts) -> UsageAmounts:
        """`self - other`, for increments of a running total that only grows."""
        return UsageAmounts(
            **{name: max(getattr(self, name) - getattr(other, name), 0) for name in AMOUNT_FIELDS}
        )

    def nonzero(self) -> dict[str, float]:
        return {name: value for name in AMOUNT_FIELDS if (value := getattr(self, name))}

    def is_empty(self) -> bool:
        return not self.nonzero()


class UsageLine(BaseModel):
    """One provider's and model's usage for one agent of a call."""

    provider: str
    model: str
    agent: str
    usage: UsageAmounts


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _CachedDetails(_Lenient):
    text_tokens: int = Field(0, ge=0)
    audio_tokens: int = Field(0, ge=0)


class _InputDetails(_Lenient):
    cached_tokens: int = Field(0, ge=0)
    text_tokens: int = Field(0, ge=0)
    audio_tokens: int = Field(0, ge=0)
    cached_tokens_details: _CachedDetails | None = None


class _OutputDetails(_Lenient):
    text_tokens: int = Field(0, ge=0)
    audio_tokens: int = Field(0, ge=0)


class RealtimeUsage(_Lenient):
    """`response.done` -> `response.usage` of the OpenAI realtime protocol (GA and beta, VoiceLive)."""

    input_tokens: int = Field(ge=0)
    output_tokens: int = Field(ge=0)
    input_token_details: _InputDetails | None = None
    output_token_details: _OutputDetails | None = None


def _plain(value: Any) -> Any:
    """SDK event models are Mappings, not dicts: plain dicts and lists for validation."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def realtime_amounts(raw: Any) -> UsageAmounts:
    """The usage of one realtime response (a dict, or an SDK model). A missing or malformed usage is counted as
    one unknown event (never a crash, never invented tokens); a response with no details counts all tokens as
    text."""
    if raw is None:
        return UsageAmounts(requests=1, unknown_events=1)
    try:
        usage = RealtimeUsage.model_validate(_plain(raw))
    except ValidationError:
        return UsageAmounts(requests=1, unknown_events=1)
    given = usage.input_token_details
    taken = usage.output_token_details
    cached = given.cached_tokens_details if given is not None else None
    input_audio = given.audio_tokens if given is not None else 0
    input_text = given.text_tokens if given is not None else usage.input_tokens
    output_audio = taken.audio_tokens if taken is not None else 0
    output_text = taken.text_tokens if taken is not None else usage.output_tokens
    cached_total = given.cached_tokens if given is not None else 0
    cached_audio = cached.audio_tokens if cached is not None else 0
    cached_text = cached.text_tokens if cached is not None else cached_total - cached_audio
    return UsageAmounts(
        requests=1,
        input_tokens=usage.input_tokens,
        cached_input_tokens=cached_total,
        output_tokens=usage.output_tokens,
        input_text_tokens=input_text,
        cached_input_text_tokens=max(cached_text, 0),
        input_audio_tokens=input_audio,
        cached_input_audio_tokens=cached_audio,
        output_text_tokens=output_text,
        output_audio_tokens=output_audio,
    )


class _DurationUsage(_Lenient):
    type: str
    seconds: float = Field(ge=0)


def transcription_amounts(raw: Any) -> UsageAmounts | None:
    """The usage of one realtime input transcription (`conversation.item.input_audio_transcription.completed`
    -> `usage`): `{"type": "duration", "seconds": ...}` (whisper-1, the embedded server) as audio seconds, or
    `{"type": "tokens", ...}` (gpt-4o-transcribe) as tokens. None when the event reports no usage at all (the
    beta dialect does not); unreadable usage is one unknown event."""
    if raw is None:
        return None
    plain = _plain(raw)
    kind = plain.get("type") if isinstance(plain, dict) else None
    try:
        if kind == "duration":
            return UsageAmounts(requests=1, stt_audio_seconds=_DurationUsage.model_validate(plain).seconds)
    except ValidationError:
        return UsageAmounts(requests=1, unknown_events=1)
    return realtime_amounts(plain)


def spoken_characters(response: Any) -> int:
    """Characters a realtime response spoke: the transcripts of its audio parts (what a TTS engine synthesised;
    the embedded realtime server's real work, since it has no tokens). A dict or an SDK model."""
    found = _plain(response)
    items = found.get("output") if isinstance(found, dict) else None
    spoken = 0
    for item in items if isinstance(items, list) else ():
        parts = item.get("content") if isinstance(item, dict) else None
        for part in parts if isinstance(parts, list) else ():
            if isinstance(part, dict) and part.get("type") in ("audio", "output_audio"):
                transcript = part.get("transcript")
                spoken += len(transcript) if isinstance(transcript, str) else 0
    return spoken
