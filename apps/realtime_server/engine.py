"""What every realtime session runs on: the speech providers, the brain, the shared VAD batcher, and the
tool resolver. Built once per process and shared read-only by all sessions."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from apps.realtime_server.tools import RegistryToolResolver, ToolResolver
from registries.loader import load_registry
from registries.snapshot import RegistrySnapshot
from voice.audio.turn_batcher import TurnScorer, shared_turn_batcher
from voice.audio.vad import get_shared_model
from voice.audio.vad_batcher import VadBatcher
from voice.llm.base import ChatModel
from voice.stt.base import SpeechToText
from voice.stt.phrases import scenario_phrases
from voice.tts.base import TextToSpeech

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RealtimeEngine:
    stt: SpeechToText
    tts: TextToSpeech
    brain: ChatModel
    vad: VadBatcher
    tools: ToolResolver
    default_voice: str | None = None
    """The TTS voice when the session names none the TTS knows (None: the provider's default)."""
    turn_model: TurnScorer | None = None
    """Semantic turn detection's end-of-turn model (shared, batched); None: pauses are judged by words alone."""


async def build_embedded_engine(
    extra_dirs: Sequence[Path] = (), *, voice: str = "en-us", prepare: bool = True
) -> RealtimeEngine:
    """The offline engine for the standalone server: pocketsphinx, espeak-ng, the local brain and Silero
    VAD, with tools resolved against the shipped registry (+ `extra_dirs`).

    `prepare` builds the recogniser's phrase models and the brain's tool-example embeddings for every
    scenario now (as the backend does at start-up), so the first caller does not wait for them."""
    from voice.llm.local_brain import LocalBrain
    from voice.stt.local import LocalSpeechToText
    from voice.tts.local import EspeakTts

    snapshot = await asyncio.to_thread(load_registry, list(extra_dirs) or None)
    vad_model = await asyncio.to_thread(get_shared_model)
    tts = EspeakTts(voice=voice)
    await tts.warm_up()
    stt = LocalSpeechToText()
    brain = LocalBrain()
    if prepare:
        await prepare_snapshot(snapshot, stt, brain)
    return RealtimeEngine(
        stt=stt,
        tts=tts,
        brain=brain,
        vad=VadBatcher(vad_model),
        tools=RegistryToolResolver(lambda: snapshot),
        default_voice=voice,
        turn_model=shared_turn_batcher(),
    )


async def prepare_snapshot(snapshot: RegistrySnapshot, stt: SpeechToText, brain: ChatModel) -> None:
    """Build each scenario's recogniser phrase model (the set `RegistryToolResolver.phrases` picks for a session
    with one of its agents' tools) and the brain's tool-example embeddings."""
    warm_up = getattr(brain, "warm_up", None)
    for name, scenario in snapshot.scenarios.items():
        await stt.prepare(scenario_phrases(snapshot, name))
        if warm_up is not None:
            await warm_up(snapshot.tools_for(agent, name) for agent in scenario.agents)
    log.info("realtime engine prepared", extra={"version": snapshot.version})


__all__ = ["RealtimeEngine", "build_embedded_engine", "prepare_snapshot"]
