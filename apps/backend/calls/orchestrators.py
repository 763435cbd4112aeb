"""Choosing and building a call's orchestrator: the scenario's `orchestrator:` or the ORCHESTRATOR setting, on
a conversation of the call's own (restored when another worker ran it before)."""

from __future__ import annotations

import asyncio
import importlib
from dataclasses import dataclass

from apps.backend.setting_values import OrchestratorKind
from registries.scenariostore.schema import ScenarioSpec
from registries.snapshot import RegistrySnapshot
from voice.session.answer_screening import AnsweringMachineGate, OutcomeSink
from voice.session.orchestrator import CallDeps, Orchestrator
from voice.speech_cascade.cascade import SpeechCascade
from voice.speech_cascade.providers import CascadeProviders
from voice.stt.phrases import scenario_phrases
from voice.voicelive.config import VoiceLiveSettings

PHRASE_CACHE_SIZE = 64
VOICELIVE_MODULE = "voice.voicelive.orchestrator"
"""The VoiceLive orchestrator and the Azure VoiceLive SDK (~0.17 s to import): not on the default (cascade)
path, so imported before ready only when a call may need it (`needs_voicelive`), else after ready."""


class OrchestratorUnavailable(RuntimeError):
    """The call needs an orchestrator this service was not configured for."""


def choose_orchestrator(scenario: ScenarioSpec, default: OrchestratorKind) -> OrchestratorKind:
    """The scenario's own `orchestrator:`, else the ORCHESTRATOR setting."""
    return OrchestratorKind(scenario.orchestrator) if scenario.orchestrator else default


@dataclass
class OrchestratorFactory:
    """What this service builds orchestrators with (one per process; the calls' state is in `CallDeps`)."""

    default: OrchestratorKind
    providers: CascadeProviders
    voicelive: VoiceLiveSettings | None = None

    def __post_init__(self) -> None:
        self._phrases: dict[tuple[str, str], list[str]] = {}
        self.voicelive_imported = False
        """Whether `prepare` has imported the VoiceLive orchestrator (it is not imported at start-up)."""

    def build(self, deps: CallDeps) -> Orchestrator:
        conversation = deps.conversation
        scenario = conversation.scenario
        if choose_orchestrator(scenario, self.default) is OrchestratorKind.VOICELIVE:
            if self.voicelive is None:
                raise OrchestratorUnavailable("a VoiceLive call, but the service has no VoiceLive settings")
            from voice.voicelive.orchestrator import VoiceLiveOrchestrator  # imported by `prepare`

            return VoiceLiveOrchestrator(deps, settings=self.voicelive)
        phrases = self.phrases(conversation.snapshot, scenario.name)
        return SpeechCascade(deps, providers=self.providers, phrases=phrases)

    def needs_voicelive(self, snapshot: RegistrySnapshot) -> bool:
        """Whether a call on `snapshot` may run on VoiceLive (the default, or a scenario's own choice)."""
        if self.voicelive is None:
            return False
        return any(
            choose_orchestrator(spec, self.default) is OrchestratorKind.VOICELIVE
            for spec in snapshot.scenarios.values()
        )

    async def prepare(self, scenario: ScenarioSpec | None = None) -> None:
        """Import the VoiceLive orchestrator in a thread (never on the event loop) if it is not yet: for
        `scenario` only when it runs on VoiceLive, for None unconditionally (a warm-up)."""
        if self.voicelive_imported or self.voicelive is None:
            return
        if (
            scenario is not None
            and choose_orchestrator(scenario, self.default) is not OrchestratorKind.VOICELIVE
        ):
            return
        # A second waiter while the first imports waits in its own thread on the module's import lock.
        await asyncio.to_thread(importlib.import_module, VOICELIVE_MODULE)
        self.voicelive_imported = True

    def screened(
        self, orchestrator: Orchestrator, deps: CallDeps, *, on_outcome: OutcomeSink
    ) -> Orchestrator:
        """An outbound call's orchestrator behind answer screening: the agent starts for a person; a
        voicemail gets the scenario's voicemail_message after the beep (in the start agent's voice)."""
        conversation = deps.conversation
        return AnsweringMachineGate(
            orchestrator,
            tts=self.providers.tts,
            call_control=deps.call_control,
            voicemail_message=conversation.scenario.voicemail_message,
            on_outcome=on_outcome,
            voice=conversation.agent.voice.name,
        )

    def phrases(self, snapshot: RegistrySnapshot, scenario: str) -> list[str]:
        """What callers are likely to say in `scenario` (recognition hints), once per registry version."""
        key = (snapshot.version, scenario)
        if key not in self._phrases:
            if len(self._phrases) > PHRASE_CACHE_SIZE:
                self._phrases.clear()
            self._phrases[key] = scenario_phrases(snapshot, scenario)
        return self._phrases[key]
