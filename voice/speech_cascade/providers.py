"""The providers a SpeechCascade speaks and listens through (one fallback chain each)."""

from __future__ import annotations

from dataclasses import dataclass

from voice.llm.base import ChatModel
from voice.stt.base import SpeechToText
from voice.tts.base import TextToSpeech


@dataclass(frozen=True)
class CascadeProviders:
    stt: SpeechToText
    tts: TextToSpeech
    llm: ChatModel
