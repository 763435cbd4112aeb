"""What a VoiceLive call's realtime session used, reported to the usage ledger as the server says it: a
response's usage at its `response.done`, the caller-side transcription's with its transcript."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from voice.usage.amounts import UsageAmounts, realtime_amounts, spoken_characters, transcription_amounts
from voice.usage.ledger import report
from voice.voicelive.config import VoiceLiveSettings


def count_response(settings: VoiceLiveSettings, response: Any, *, agent: str) -> None:
    """Once per response id (a `response.done` seen again after a reconnect is not counted twice). The
    embedded server reports no tokens (it has none): its responses count as requests and the characters
    they spoke."""
    response = response if isinstance(response, Mapping) else {}  # SDK models are Mappings
    raw = response.get("usage")
    provider = settings.usage_provider
    amounts = (
        UsageAmounts(requests=1, tts_characters=spoken_characters(response))
        if raw is None and provider == "embedded-realtime"
        else realtime_amounts(raw)
    )
    key = response.get("id") if isinstance(response.get("id"), str) else None
    report(provider, settings.model, amounts, agent=agent, key=key)


def count_transcription(settings: VoiceLiveSettings, event: Any, *, agent: str) -> None:
    """The caller-side transcription's usage when the server reports one (the embedded server: audio
    seconds), once per item, under the transcription model."""
    heard = transcription_amounts(event.get("usage"))
    if heard is None:
        return
    item = event.get("item_id")
    key = f"transcription:{item}" if isinstance(item, str) else None
    report(settings.usage_provider, settings.transcription_model, heard, agent=agent, key=key)
