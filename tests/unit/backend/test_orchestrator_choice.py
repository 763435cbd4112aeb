"""Which orchestrator runs a call: the scenario's own `orchestrator:`, else the ORCHESTRATOR setting."""

import sys
from types import SimpleNamespace
from typing import cast

import pytest
from pydantic import ValidationError

from apps.backend.calls.orchestrators import VOICELIVE_MODULE, OrchestratorFactory, choose_orchestrator
from apps.backend.setting_values import OrchestratorKind
from registries.scenariostore.schema import ScenarioSpec
from registries.snapshot import RegistrySnapshot
from voice.speech_cascade.providers import CascadeProviders
from voice.voicelive.config import VoiceLiveSettings


def scenario(**fields: object) -> ScenarioSpec:
    return ScenarioSpec(name="banking", start_agent="concierge", agents=("concierge",), **fields)


@pytest.mark.parametrize("default", list(OrchestratorKind))
def test_a_scenario_without_a_choice_follows_the_setting(default: OrchestratorKind) -> None:
    assert choose_orchestrator(scenario(), default) is default


def test_the_scenario_choice_wins_over_the_setting() -> None:
    assert (
        choose_orchestrator(scenario(orchestrator="voicelive"), OrchestratorKind.CASCADE)
        is OrchestratorKind.VOICELIVE
    )
    assert (
        choose_orchestrator(scenario(orchestrator="cascade"), OrchestratorKind.VOICELIVE)
        is OrchestratorKind.CASCADE
    )


def test_a_misspelt_orchestrator_is_a_validation_error() -> None:
    with pytest.raises(ValidationError, match="orchestrator"):
        scenario(orchestrator="voice_live")


def factory(default: OrchestratorKind, *, voicelive: bool = True) -> OrchestratorFactory:
    settings = VoiceLiveSettings(endpoint="http://127.0.0.1:1", api_key="k") if voicelive else None
    return OrchestratorFactory(
        default=default, providers=cast(CascadeProviders, object()), voicelive=settings
    )


def snapshot(*specs: ScenarioSpec) -> RegistrySnapshot:
    return cast(RegistrySnapshot, SimpleNamespace(scenarios={s.name: s for s in specs}))


def test_voicelive_is_needed_before_ready_only_when_a_scenario_may_run_on_it() -> None:
    cascade_only = snapshot(scenario())
    assert not factory(OrchestratorKind.CASCADE).needs_voicelive(cascade_only)
    assert factory(OrchestratorKind.VOICELIVE).needs_voicelive(cascade_only)
    assert factory(OrchestratorKind.CASCADE).needs_voicelive(snapshot(scenario(orchestrator="voicelive")))
    assert not factory(OrchestratorKind.VOICELIVE, voicelive=False).needs_voicelive(cascade_only)


async def test_a_cascade_call_does_not_import_voicelive_and_a_voicelive_call_does() -> None:
    orchestrators = factory(OrchestratorKind.CASCADE)
    await orchestrators.prepare(scenario())
    assert not orchestrators.voicelive_imported
    await orchestrators.prepare(scenario(orchestrator="voicelive"))
    assert orchestrators.voicelive_imported
    assert VOICELIVE_MODULE in sys.modules
