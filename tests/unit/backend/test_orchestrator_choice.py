"""Which orchestrator runs a call: the scenario's own `orchestrator:`, else the ORCHESTRATOR setting."""

import pytest
from pydantic import ValidationError

from apps.backend.calls.orchestrators import choose_orchestrator
from apps.backend.setting_values import OrchestratorKind
from registries.scenariostore.schema import ScenarioSpec


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
