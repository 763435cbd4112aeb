"""`GET /api/v1/model-info`: what this process is configured to talk to, in chain order (STT, LLM, TTS, the
realtime side), whether each remote endpoint answers a TCP connect (bounded), and the price table in force.

Built from settings, never from secrets: keys are reported only as "configured" (a boolean), and URLs lose any
user info and query string (a SAS token or key could hide there).
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import date
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field

from apps.backend.realtime import loopback_base_url
from apps.backend.settings import Settings
from voice.usage.prices import PriceEntry, PriceTable

REACHABILITY_TIMEOUT_S = 2.0
"""Every endpoint is tried at once; the whole check takes at most this long."""

Reachable = Literal["reachable", "unreachable", "embedded", "not_checked"]


class ProviderInfo(BaseModel):
    provider: str
    embedded: bool
    role: str | None = None
    """For the realtime side: `voicelive-calls` (phone calls with ORCHESTRATOR=voicelive) or `relay`."""
    endpoint: str | None = None
    """scheme://host[:port][/path] only: no user info, no query string."""
    model: str | None = None
    deployment: str | None = None
    api_version: str | None = None
    voice: str | None = None
    region: str | None = None
    key_configured: bool = False
    reachability: Reachable = "embedded"


class Chains(BaseModel):
    stt: list[ProviderInfo]
    llm: list[ProviderInfo]
    tts: list[ProviderInfo]
    realtime: list[ProviderInfo]
    """Where VoiceLive calls connect, then where the realtime relay connects."""


class PriceTableInfo(BaseModel):
    as_of: date
    currency: str
    sources: list[str]
    file: str
    prices: list[PriceEntry]


class ModelInfo(BaseModel):
    orchestrator: str
    chains: Chains
    prices: PriceTableInfo
    reachability_timeout_s: float = Field(REACHABILITY_TIMEOUT_S)


def public_url(url: str | None) -> str | None:
    """`url` without credentials, query or fragment (or None)."""
    if not url:
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}" if parts.scheme else None


def _speech_endpoint(settings: Settings, kind: Literal["stt", "tts"]) -> str | None:
    if settings.azure_speech_host:
        return public_url(settings.azure_speech_host)
    if settings.azure_speech_region:
        return f"wss://{settings.azure_speech_region}.{kind}.speech.microsoft.com"
    return None


def configured_chains(settings: Settings) -> Chains:
    stt: list[ProviderInfo] = []
    tts: list[ProviderInfo] = []
    llm: list[ProviderInfo] = []
    if settings.azure_speech_key is not None:
        common = {"key_configured": True, "region": settings.azure_speech_region, "embedded": False}
        stt.append(
            ProviderInfo(provider="azure-speech", endpoint=_speech_endpoint(settings, "stt"), **common)
        )
        tts.append(
            ProviderInfo(
                provider="azure-speech",
                endpoint=_speech_endpoint(settings, "tts"),
                voice=settings.azure_speech_voice,
                **common,
            )
        )
    final = "whisper-tiny.en" if settings.local_stt_final == "whisper" else "pocketsphinx"
    stt.append(
        ProviderInfo(
            provider="pocketsphinx",
            embedded=True,
            model=f"en-us (scenario phrase models), final text by {final}",
        )
    )
    tts.append(ProviderInfo(provider="espeak-ng", embedded=True, voice=settings.tts_voice))
    if settings.azure_openai_endpoint and settings.azure_openai_api_key and settings.azure_openai_deployment:
        llm.append(
            ProviderInfo(
                provider="azure-openai",
                embedded=False,
                endpoint=public_url(settings.azure_openai_endpoint),
                deployment=settings.azure_openai_deployment,
                model=settings.azure_openai_deployment,
                api_version=settings.azure_openai_api_version,
                key_configured=True,
            )
        )
    if settings.openai_base_url and settings.openai_api_key:
        llm.append(
            ProviderInfo(
                provider="openai",
                embedded=False,
                endpoint=public_url(settings.openai_base_url),
                model=settings.openai_model,
                key_configured=True,
            )
        )
    llm.append(ProviderInfo(provider="local-brain", embedded=True, model="all-MiniLM-L6-v2 intent routing"))
    if settings.azure_voicelive_endpoint and settings.azure_voicelive_api_key is not None:
        realtime = ProviderInfo(
            provider="azure-voicelive",
            embedded=False,
            endpoint=public_url(settings.azure_voicelive_endpoint),
            model=settings.azure_voicelive_model,
            api_version=settings.azure_voicelive_api_version,
            voice=settings.azure_voicelive_voice,
            key_configured=True,
        )
    else:
        realtime = ProviderInfo(
            provider="embedded-realtime",
            embedded=True,
            endpoint=loopback_base_url(settings) + "/voice-live/realtime",
            model=settings.azure_voicelive_model,
            api_version=settings.azure_voicelive_api_version,
            voice=settings.tts_voice,
        )
    realtime.role = "voicelive-calls"
    return Chains(stt=stt, llm=llm, tts=tts, realtime=[realtime, _relay(settings)])


def _relay(settings: Settings) -> ProviderInfo:
    """The relay's upstream as RELAY_* settings name it (the key only as `key_configured`)."""
    kind = settings.relay_upstream
    model = settings.relay_model
    if kind == "embedded":
        endpoint = loopback_base_url(settings) + "/v1/realtime"
        return ProviderInfo(
            provider="embedded-realtime", embedded=True, role="relay", endpoint=endpoint, model=model
        )
    key = settings.relay_api_key is not None
    if kind == "openai":
        url: str | None = settings.relay_upstream_url or "wss://api.openai.com/v1/realtime"
        return ProviderInfo(
            provider="openai-realtime",
            embedded=False,
            role="relay",
            endpoint=public_url(url),
            model=model,
            key_configured=key,
        )
    if kind == "azure-openai":
        url = settings.relay_upstream_url or settings.azure_openai_endpoint
        return ProviderInfo(
            provider="azure-openai-realtime",
            embedded=False,
            role="relay",
            endpoint=public_url(url),
            deployment=model,
            model=model,
            api_version=settings.relay_api_version,
            key_configured=key or settings.azure_openai_api_key is not None,
        )
    url = settings.relay_upstream_url or settings.azure_voicelive_endpoint
    return ProviderInfo(
        provider="azure-voicelive",
        embedded=False,
        role="relay",
        endpoint=public_url(url),
        model=model,
        api_version=settings.azure_voicelive_api_version,
        key_configured=key or settings.azure_voicelive_api_key is not None,
    )


async def _answers(endpoint: str) -> bool:
    parts = urlsplit(endpoint)
    if not parts.hostname:
        return False
    secure = parts.scheme in ("https", "wss")
    port = parts.port or (443 if secure else 80)
    try:
        _, writer = await asyncio.open_connection(parts.hostname, port)
    except OSError:
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


async def check_reachability(chains: Chains, *, timeout_s: float = REACHABILITY_TIMEOUT_S) -> None:
    """Fill in `reachability` of every remote provider: a TCP connect to its endpoint, all at once, bounded."""
    remote = [
        p for chain in (chains.stt, chains.llm, chains.tts, chains.realtime) for p in chain if not p.embedded
    ]
    endpoints = sorted({p.endpoint for p in remote if p.endpoint})
    tasks = {endpoint: asyncio.create_task(_answers(endpoint)) for endpoint in endpoints}
    if tasks:
        await asyncio.wait(tasks.values(), timeout=timeout_s)
    for provider in remote:
        task = tasks.get(provider.endpoint or "")
        ok = task is not None and task.done() and not task.cancelled() and task.result()
        provider.reachability = "reachable" if ok else "unreachable"
    for task in tasks.values():
        task.cancel()


def price_info(table: PriceTable) -> PriceTableInfo:
    return PriceTableInfo(
        as_of=table.as_of,
        currency=table.currency,
        sources=table.sources,
        file=table.source_file,
        prices=table.prices,
    )


async def model_info(settings: Settings, table: PriceTable, *, check: bool) -> ModelInfo:
    chains = configured_chains(settings)
    if check:
        await check_reachability(chains)
    else:
        for chain in (chains.stt, chains.llm, chains.tts, chains.realtime):
            for provider in chain:
                if not provider.embedded:
                    provider.reachability = "not_checked"
    return ModelInfo(orchestrator=settings.orchestrator.value, chains=chains, prices=price_info(table))
