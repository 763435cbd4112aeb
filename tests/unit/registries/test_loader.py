"""Loading a registry tree into an immutable snapshot: defaults, prompts, handoff tools, versions and diffs."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from registries.loader import (
    load_registry,
    render_greeting,
    render_prompt,
    render_return_greeting,
)
from registries.toolstore import ToolAction, ToolContext

from .trees import load, write


def test_the_fixture_tree_loads(tree: Path) -> None:
    registry = load(tree)
    assert sorted(registry.agents) == ["billing", "front_desk", "support"]
    assert list(registry.scenarios) == ["helpdesk"]
    assert registry.start_agent("helpdesk").name == "front_desk"
    assert registry.agents["billing"].source == tree / "agents" / "billing" / "agent.yaml"


def test_defaults_are_deep_merged_under_each_agent(tree: Path) -> None:
    agents = load(tree).agents
    front, billing = agents["front_desk"], agents["billing"]
    # nested mappings merge key by key, the agent's own keys win
    assert front.model.deployment == "fixture-mini" and front.model.temperature == 0.5
    assert billing.model.deployment == "fixture-mini" and billing.model.temperature == 0.2
    assert front.speech.end_of_turn_silence_ms == 700
    # lists replace instead of merging
    assert front.speech.languages == ("en-GB",)
    assert billing.speech.languages == ("en-US", "es-US")
    assert front.template_vars == {"company": "Acme", "hours": "around the clock"}
    # schema defaults fill what neither sets
    assert billing.speech.barge_in is True and billing.speech.min_barge_in_ms == 300


def test_an_empty_defaults_file_is_fine(tree: Path) -> None:
    write(tree, "agents/_defaults.yaml", "# nothing shared yet\n")
    write(tree, "agents/support.yaml", "greeting: Support here.\nprompt: Help.\ntools: [count_words]\n")
    assert load(tree).agents["support"].model.deployment is None


def test_an_agent_prompt_replaces_the_default_prompt_and_otherwise_inherits_it(tree: Path) -> None:
    agents = load(tree).agents
    assert agents["support"].prompt == "You are a helpful {{ company }} agent."
    assert agents["billing"].prompt is None and agents["billing"].prompt_file == "prompt.jinja"


def test_prompt_file_is_resolved_next_to_the_agent_yaml_and_read_at_load_time(tree: Path) -> None:
    registry = load(tree)
    write(tree, "agents/billing/prompt.jinja", "changed after loading")
    billing = registry.agents["billing"]
    assert billing.prompt_template.startswith("You handle billing for {{ company }}.")
    rendered = render_prompt(billing, {"caller": "+15550001111"}, registry.scenarios["helpdesk"])
    assert rendered == "You handle billing for Acme.\nThe caller's number is +15550001111."


def test_rendering_uses_scenario_then_agent_vars_then_context_and_tolerates_missing_context(
    tree: Path,
) -> None:
    registry = load(tree)
    front, scenario = registry.agents["front_desk"], registry.scenarios["helpdesk"]
    assert render_greeting(front, {}) == "Welcome to Acme. How can I help?"
    assert render_greeting(front, {"caller_display_name": "Ada"}) == "Welcome to Acme, Ada. How can I help?"
    assert render_greeting(front, {"company": "Initech"}, scenario).startswith("Welcome to Initech.")
    assert render_prompt(front, {}, scenario) == "You are the front desk of Acme.\nOpen around the clock."
    assert render_return_greeting(front, {}) == "Welcome back to the front desk."
    assert render_return_greeting(registry.agents["support"], {}) is None


def test_voice_and_voicelive_settings(tree: Path) -> None:
    agents = load(tree).agents
    assert agents["front_desk"].voice.name == "en-us"
    assert agents["front_desk"].voice.rate_multiplier == pytest.approx(1.1)
    assert agents["billing"].voicelive.turn_detection.type == "semantic_vad"
    assert agents["billing"].voicelive.voice == "alloy"


def test_handoff_tools_are_generated_for_the_from_agent_only(tree: Path) -> None:
    registry = load(tree)
    names = lambda agent: [t.name for t in registry.tools_for(agent, "helpdesk")]  # noqa: E731
    assert names("front_desk") == ["lookup_order", "count_words", "handoff_to_billing", "escalate_to_support"]
    assert names("billing") == ["lookup_order", "refund_order", "route_to_front_desk"]
    assert names("support") == ["count_words"]
    to_billing = registry.tools["handoff_to_billing"]
    assert to_billing.description == "The caller has a question about a bill, a charge or a refund."
    assert to_billing.parameters["required"] == ["reason"]
    back = registry.tools["route_to_front_desk"]  # the target's handoff.trigger, its description and examples
    assert back.description == "Send the caller back to the front desk."
    assert back.examples == ("take me back to the start",)
    escalate = registry.tools["escalate_to_support"]
    assert (escalate.handoff.agent, escalate.handoff.type, escalate.handoff.share_context) == (
        "support",
        "discrete",
        False,
    )
    edges = registry.handoffs_from("front_desk", "helpdesk")
    assert [(e.to, e.tool) for e in edges] == [
        ("billing", "handoff_to_billing"),
        ("support", "escalate_to_support"),
    ]


async def test_invoking_a_handoff_tool_requests_the_handoff(tree: Path) -> None:
    catalog = load(tree).catalog_for("front_desk", "helpdesk")
    ctx = ToolContext(call_id="c", caller="+1555", scenario="helpdesk", agent="front_desk")
    result = await catalog.invoke("handoff_to_billing", {"reason": "question about a charge"}, ctx)
    assert result.ok and result.output == {
        "handoff_to": "billing",
        "type": "announced",
        "share_context": True,
    }
    assert ctx.actions == [ToolAction("handoff", "question about a charge", target="billing")]
    refused = await catalog.invoke("refund_order", {"order_id": "1"}, ctx)  # billing's tool, not front desk's
    assert refused.error.type == "unknown_tool"


def test_scenario_for_number_routes_dialed_numbers_and_falls_back(tree: Path) -> None:
    write(tree, "scenarios/other.yaml", "start_agent: support\nagents: [support]\n")
    registry = load(tree)
    assert registry.scenario_for_number("+18005550199", "other").name == "helpdesk"
    assert registry.scenario_for_number("4:+1 800 555 0199", "other").name == "helpdesk"
    assert registry.scenario_for_number("+14255550000", "other").name == "other"


def test_snapshot_is_immutable(tree: Path) -> None:
    registry = load(tree)
    with pytest.raises(TypeError):
        registry.agents["x"] = registry.agents["support"]  # type: ignore[index]
    with pytest.raises(Exception, match="frozen"):
        registry.agents["support"].greeting = "changed"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        registry.version = "x"  # type: ignore[misc]


def test_version_is_stable_for_the_same_content_and_changes_with_any_file(tree: Path, tmp_path: Path) -> None:
    first, again = load(tree), load(tree)
    assert first.version == again.version and len(first.version) == 12
    assert first.loaded_at <= again.loaded_at
    copy = Path(tmp_path / "elsewhere")
    copy.mkdir()
    (tree).rename(copy / "helpdesk")
    assert load(copy / "helpdesk").version == first.version  # where the files live does not matter
    for relative in ("agents/billing/prompt.jinja", "scenarios/helpdesk.yaml", "tools/desk_tools.py"):
        path = copy / "helpdesk" / relative
        original = path.read_text()
        path.write_text(original + "\n# edited\n")
        assert load(copy / "helpdesk").version != first.version, relative
        path.write_text(original)
    assert load(copy / "helpdesk").version == first.version


def test_diff_lists_added_removed_and_changed(tree: Path) -> None:
    old = load(tree)
    assert old.diff(None).agents.added == ("billing", "front_desk", "support")
    write(tree, "agents/billing/prompt.jinja", "A new billing prompt.")
    (tree / "agents" / "support.yaml").unlink()
    write(tree, "agents/sales.yaml", "greeting: Sales.\n")
    scenario = (tree / "scenarios" / "helpdesk.yaml").read_text()
    scenario = scenario.replace("[front_desk, billing, support]", "[front_desk, billing, sales]")
    scenario = scenario.replace("to: support", "to: sales").replace(
        "escalate_to_support", "escalate_to_sales"
    )
    (tree / "scenarios" / "helpdesk.yaml").write_text(scenario)
    time.sleep(0.001)
    new = load(tree)
    diff = new.diff(old)
    assert diff.agents.to_json() == {"added": ["sales"], "removed": ["support"], "changed": ["billing"]}
    assert diff.scenarios.changed == ("helpdesk",)
    assert diff.tools.added == ("escalate_to_sales",) and diff.tools.removed == ("escalate_to_support",)
    assert not diff.is_empty
    assert diff.as_dict() == diff.to_json() and diff.to_json()["agents"]["added"] == ["sales"]
    assert load(tree).diff(new).is_empty
    assert new.version != old.version


def test_extra_dir_tools_are_discovered_and_a_changed_tool_shows_in_the_diff(tree: Path) -> None:
    old = load(tree)
    tools_py = tree / "tools" / "desk_tools.py"
    tools_py.write_text(tools_py.read_text().replace("Count the words", "Count all the words"))
    new = load(tree)
    assert new.tools["count_words"].description.startswith("Count all the words")
    assert old.tools["count_words"].description.startswith("Count the words")
    assert new.diff(old).tools.changed == ("count_words",)


def test_the_shipped_registry_loads_without_problems() -> None:
    registry = load_registry()
    assert {"banking", "insurance"} <= set(registry.scenarios)
    for name, scenario in registry.scenarios.items():
        assert registry.start_agent(name).name == scenario.start_agent
        for agent in scenario.agents:
            assert registry.tools_for(agent, name), f"{agent} has no tools in {name}"
    for agent in registry.agents.values():
        assert render_greeting(agent, {})
        assert render_prompt(agent, {})
