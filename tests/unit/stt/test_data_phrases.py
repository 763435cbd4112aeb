"""The embedded recogniser's phrase model knows the names and places of the data the scenario's tools serve,
and the words callers wrap around a request, not only the tools' own examples."""

from __future__ import annotations

import dataclasses

import pytest

from registries.loader import load_registry
from registries.snapshot import RegistrySnapshot
from voice.stt.data_phrases import uses_demo_data
from voice.stt.phrase_model import build_phrase_model
from voice.stt.phrases import scenario_phrases


@pytest.fixture(scope="module")
def snapshot() -> RegistrySnapshot:
    return load_registry()


def test_the_shipped_scenarios_add_their_demo_peoples_names_places_and_merchants(
    snapshot: RegistrySnapshot,
) -> None:
    banking = scenario_phrases(snapshot, "banking")
    insurance = scenario_phrases(snapshot, "insurance")
    assert "this is Priya Shah" in banking and "Marcus Chen" in banking
    assert "Bella Pizza" in banking and "the charge at Lakeside Hardware" in banking
    assert "14 Birch Lane in Redmond" in insurance
    assert "Apartment 5B in 220 Lake Street in Chicago" in insurance


def test_each_scenario_gets_only_the_data_its_tools_serve(snapshot: RegistrySnapshot) -> None:
    """The nurse line serves no demo data: bank customers and merchants would only crowd its phrase model and
    Whisper prompt (with them, Whisper wrote an espeak "I can't breathe" as "I can't dream")."""
    triage = scenario_phrases(snapshot, "triage")
    insurance = scenario_phrases(snapshot, "insurance")
    assert not {"Priya Shah", "Bella Pizza", "14 Birch Lane in Redmond"} & set(triage)
    assert "Bella Pizza" not in insurance and "Priya Shah" in insurance


def test_tools_from_elsewhere_bring_no_demo_data(snapshot: RegistrySnapshot) -> None:
    tools = snapshot.tools_for("concierge", "banking")
    assert uses_demo_data(tools)
    foreign = [dataclasses.replace(t, source="/somewhere/else/tools.py") for t in tools]
    assert not uses_demo_data(foreign)


def test_the_phrase_model_can_say_names_places_and_everyday_caller_words(snapshot: RegistrySnapshot) -> None:
    model = build_phrase_model(scenario_phrases(snapshot, "insurance"))
    assert {"birch", "redmond", "chicago", "wondering", "basically", "apartment"} <= model.words


def test_a_name_missing_from_the_pronouncing_dictionary_is_still_in_the_model() -> None:
    model = build_phrase_model(["this is Priya Shah"])
    assert "priya" in model.words and "priya" not in model.dropped
    assert "priya P R IY Y AH" in model.dictionary
