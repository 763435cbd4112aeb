"""What the Azure Speech STT and TTS providers share: building the SDK's `SpeechConfig`, and keeping the key
out of every message."""

from __future__ import annotations

import azure.cognitiveservices.speech as speechsdk


def speech_config(
    key: str, *, region: str | None, endpoint: str | None, host: str | None
) -> speechsdk.SpeechConfig:
    """A `SpeechConfig` for exactly one of: a region, a full endpoint URL, or a host (containers, tests)."""
    if not key:
        raise ValueError("an Azure Speech key is required")
    if sum(value is not None for value in (region, endpoint, host)) != 1:
        raise ValueError("give exactly one of region, endpoint or host for Azure Speech")
    if region is not None:
        return speechsdk.SpeechConfig(subscription=key, region=region)
    if endpoint is not None:
        return speechsdk.SpeechConfig(subscription=key, endpoint=endpoint)
    return speechsdk.SpeechConfig(subscription=key, host=host)


def redact(text: str, key: str) -> str:
    """SDK error details may echo request details; make sure the key never reaches a log or an error."""
    return text.replace(key, "***") if key else text
