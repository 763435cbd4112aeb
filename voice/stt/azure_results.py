"""Azure Speech recognition results as plain values: what the session keeps of each final phrase, and the
confidence read from the detailed (`OutputFormat.Detailed`) JSON payload."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, ValidationError


@dataclass(frozen=True, slots=True)
class FinalPhrase:
    """One final phrase, copied off the SDK's result object on its callback thread."""

    text: str
    language: str | None
    confidence: float | None


class _NBest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    confidence: float | None = Field(default=None, alias="Confidence")


class _DetailedPhrase(BaseModel):
    """The part of a detailed `speech.phrase` result we read (`result.json`)."""

    model_config = ConfigDict(extra="ignore")
    nbest: list[_NBest] = Field(default_factory=list, alias="NBest")


def detailed_confidence(payload: str) -> float | None:
    """The top hypothesis' confidence, or None when the payload has none (or is not the JSON we expect)."""
    try:
        phrase = _DetailedPhrase.model_validate_json(payload) if payload else None
    except ValidationError:
        return None
    if phrase is None or not phrase.nbest:
        return None
    return phrase.nbest[0].confidence
