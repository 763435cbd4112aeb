"""Builds the provider chains from settings: Azure first where configured, the embedded provider last.

The embedded providers are always in the chain, so an Azure outage degrades to robotic speech and a simpler
brain instead of a dropped call.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from apps.backend.settings import Settings
from voice.fallback import FallbackChatModel, FallbackSpeechToText, FallbackTextToSpeech
from voice.llm.base import ChatModel
from voice.llm.local_brain import LocalBrain
from voice.llm.local_brain.embedding_disk import configure_disk_cache
from voice.speech_cascade.providers import CascadeProviders
from voice.stt.base import SpeechToText
from voice.stt.final_pass import PoolSize, shared_final_pass
from voice.stt.local import LocalSpeechToText
from voice.tts.base import TextToSpeech
from voice.tts.local import EspeakTts

log = logging.getLogger(__name__)


@dataclass
class ProviderSet:
    """The cascade's provider chains plus the embedded pieces that need warming up.

    `embedded_tts` and `local_brain` are None only for provider sets built outside the product (the
    benchmarks' fixed-latency fakes), which have nothing to warm up.
    """

    cascade: CascadeProviders
    embedded_tts: EspeakTts | None
    local_brain: LocalBrain | None
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)


ProviderFactory = Callable[[Settings], ProviderSet]


def build_providers(settings: Settings) -> ProviderSet:
    closers: list[Callable[[], Awaitable[None]]] = []
    espeak = EspeakTts(voice=settings.tts_voice)
    stt: list[SpeechToText] = []
    tts: list[TextToSpeech] = []
    llm: list[ChatModel] = []

    if settings.azure_speech_key is not None:
        from voice.stt.azure import AzureSpeechToText
        from voice.tts.azure import AzureTextToSpeech

        key = settings.azure_speech_key.get_secret_value()
        where = (
            {"region": settings.azure_speech_region}
            if settings.azure_speech_region
            else {"host": settings.azure_speech_host}
        )
        stt.append(AzureSpeechToText(key=key, **where))
        tts.append(AzureTextToSpeech(key=key, default_voice=settings.azure_speech_voice, **where))
    final_pass = shared_final_pass(
        settings.local_stt_final,
        PoolSize.for_machine(settings.local_stt_whisper_workers, settings.local_stt_whisper_queue),
    )
    stt.append(LocalSpeechToText(final_pass=final_pass))
    tts.append(espeak)

    # The openai package costs ~0.35 s of start-up: imported only when a chat endpoint is configured.
    if settings.azure_openai_endpoint or settings.openai_base_url:
        from voice.llm.openai_chat import OpenAIChatModel
        from voice.llm.openai_deadlines import ChatTimeouts

        timeouts = ChatTimeouts(first_token_s=settings.llm_first_token_timeout_seconds)
    if settings.azure_openai_endpoint and settings.azure_openai_api_key and settings.azure_openai_deployment:
        azure = OpenAIChatModel.azure(
            endpoint=settings.azure_openai_endpoint,
            api_key=settings.azure_openai_api_key.get_secret_value(),
            api_version=settings.azure_openai_api_version,
            deployment=settings.azure_openai_deployment,
            timeouts=timeouts,
        )
        llm.append(azure)
        closers.append(azure.aclose)
    elif settings.azure_openai_endpoint:
        log.warning(
            "AZURE_OPENAI_ENDPOINT is set without AZURE_OPENAI_API_KEY and AZURE_OPENAI_DEPLOYMENT; ignored"
        )
    if settings.openai_base_url and settings.openai_api_key:
        compatible = OpenAIChatModel.openai(
            base_url=settings.openai_base_url,
            api_key=settings.openai_api_key.get_secret_value(),
            model=settings.openai_model,
            timeouts=timeouts,
        )
        llm.append(compatible)
        closers.append(compatible.aclose)
    configure_disk_cache(settings.local_brain_embedding_cache_dir)
    brain = LocalBrain()
    llm.append(brain)

    log.info(
        "providers",
        extra={
            "stt": [p.name for p in stt],
            "tts": [p.name for p in tts],
            "llm": [p.name for p in llm],
        },
    )
    return ProviderSet(
        cascade=CascadeProviders(
            stt=FallbackSpeechToText(stt), tts=FallbackTextToSpeech(tts), llm=FallbackChatModel(llm)
        ),
        embedded_tts=espeak,
        local_brain=brain,
        closers=closers,
    )
