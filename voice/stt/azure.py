"""Azure Speech recognition through the Speech SDK: one continuous recognizer per call.

This module checks the settings and builds each call's SDK objects (speech config, push stream, recognizer,
phrase list); `azure_session` drives them turn by turn, and `azure_results` turns the SDK's results into
plain values.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import azure.cognitiveservices.speech as speechsdk

from voice.azure_speech import speech_config
from voice.stt.azure_session import PROVIDER, AzureSttSession
from voice.stt.base import SttConfig

log = logging.getLogger(__name__)

MAX_LID_LANGUAGES = 10
"""Continuous language identification takes at most 10 candidate languages."""
_STREAM_RATES = (8000, 16000)


class AzureSpeechToText:
    """`SpeechToText` on Azure Speech (real-time conversation recognition over the SDK's WebSocket)."""

    name = PROVIDER

    def __init__(
        self,
        *,
        key: str,
        region: str | None = None,
        endpoint: str | None = None,
        host: str | None = None,
        segmentation_silence_ms: int = 400,
        end_of_turn_timeout_s: float = 1.5,
        first_result_grace_s: float = 0.4,
        connect_timeout_s: float = 5.0,
        max_phrases: int = 500,
    ) -> None:
        speech_config(key, region=region, endpoint=endpoint, host=host)  # fail fast on bad settings
        if not 100 <= segmentation_silence_ms <= 5000:
            raise ValueError(f"segmentation_silence_ms must be in [100, 5000], got {segmentation_silence_ms}")
        self._key = key
        self._where = {"region": region, "endpoint": endpoint, "host": host}
        self.segmentation_silence_ms = segmentation_silence_ms
        self.end_of_turn_timeout_s = end_of_turn_timeout_s
        self.first_result_grace_s = first_result_grace_s
        self.connect_timeout_s = connect_timeout_s
        self.max_phrases = max_phrases

    async def prepare(self, phrases: Sequence[str]) -> None:
        """Nothing to build: the phrase list travels with each session."""

    async def open_session(self, config: SttConfig) -> AzureSttSession:
        languages = list(dict.fromkeys(lang for lang in config.languages if lang))
        if not languages:
            raise ValueError("SttConfig.languages is empty")
        if len(languages) > MAX_LID_LANGUAGES:
            raise ValueError(f"Azure language identification takes at most {MAX_LID_LANGUAGES} languages")
        if config.sample_rate <= 0:
            raise ValueError(f"sample_rate must be positive, got {config.sample_rate}")
        # Push streams take 8 or 16 kHz only; anything else is resampled to 16 kHz on the way in.
        stream_rate = config.sample_rate if config.sample_rate in _STREAM_RATES else 16000

        sdk_config = speech_config(self._key, **self._where)
        sdk_config.output_format = speechsdk.OutputFormat.Detailed  # carries the confidence
        sdk_config.set_property(
            speechsdk.PropertyId.Speech_SegmentationSilenceTimeoutMs, str(self.segmentation_silence_ms)
        )
        audio_format = speechsdk.audio.AudioStreamFormat(
            samples_per_second=stream_rate, bits_per_sample=16, channels=1
        )
        stream = speechsdk.audio.PushAudioInputStream(audio_format)
        audio_config = speechsdk.audio.AudioConfig(stream=stream)
        if len(languages) == 1:
            sdk_config.speech_recognition_language = languages[0]
            recognizer = speechsdk.SpeechRecognizer(sdk_config, audio_config=audio_config)
        else:
            sdk_config.set_property(speechsdk.PropertyId.SpeechServiceConnection_LanguageIdMode, "Continuous")
            auto = speechsdk.languageconfig.AutoDetectSourceLanguageConfig(languages=languages)
            recognizer = speechsdk.SpeechRecognizer(
                sdk_config, audio_config=audio_config, auto_detect_source_language_config=auto
            )
        phrases = _bounded_phrases(config.phrases, self.max_phrases)
        if phrases:
            grammar = speechsdk.PhraseListGrammar.from_recognizer(recognizer)
            for phrase in phrases:
                grammar.addPhrase(phrase)

        session = AzureSttSession(
            recognizer,
            stream,
            config,
            stream_rate=stream_rate,
            languages=languages,
            key=self._key,
            timeout_s=self.end_of_turn_timeout_s,
            grace_s=self.first_result_grace_s,
            flush_ms=self.segmentation_silence_ms + 100,
        )
        try:
            await session.start(self.connect_timeout_s)
        except BaseException:
            await session.aclose()
            raise
        return session


def _bounded_phrases(phrases: Sequence[str], limit: int) -> list[str]:
    unique = dict.fromkeys(p.strip() for p in phrases if p and p.strip())
    if len(unique) > limit:
        log.warning("phrase list truncated", extra={"phrases": len(unique), "limit": limit})
    return list(unique)[:limit]
