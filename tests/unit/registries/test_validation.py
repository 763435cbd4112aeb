"""Validation: every problem is reported (not just the first) as `file:line: field: message`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from registries.loader import RegistryError, RegistryRoot, load_registry_from

from .trees import problems, write

SUPPORT = "agents/support.yaml"
SCENARIO = "scenarios/helpdesk.yaml"


def test_yaml_syntax_error_names_the_line(tree: Path) -> None:
    write(tree, SUPPORT, "greeting: Support here.\ntools: [count_words\nprompt: x\n")
    [issue] = problems(tree)
    assert issue.startswith("agents/support.yaml:3: invalid YAML: expected ',' or ']'")


def test_duplicate_yaml_keys_are_reported(tree: Path) -> None:
    write(tree, SUPPORT, "greeting: Support here.\ngreeting: Hello.\n")
    assert problems(tree) == [
        "agents/support.yaml:2: greeting: duplicate key (only the last one would count)"
    ]


def test_unknown_key_is_reported_at_its_line_with_a_suggestion(tree: Path) -> None:
    write(tree, SUPPORT, "greeting: Support here.\nvoice:\n  name: en-us\n  rte: '+5%'\n")
    assert problems(tree) == ["agents/support.yaml:4: voice.rte: unknown key 'rte' (did you mean 'rate'?)"]


def test_wrong_types_and_values_are_reported_at_their_lines(tree: Path) -> None:
    write(
        tree,
        SUPPORT,
        """
        greeting: Support here.
        model:
          temperature: hot
          max_tokens: 100
        voice:
          rate: fast
        speech:
          languages: [en-US, English]
        voicelive:
          turn_detection:
            type: magic_vad
        """,
    )
    assert problems(tree) == [
        "agents/support.yaml:3: model.temperature: Input should be a valid number, unable to parse string as a number",
        'agents/support.yaml:6: voice.rate: rate must be a signed percentage like "+10%" or "-5%"',
        "agents/support.yaml:8: speech.languages[1]: 'English' is not a BCP-47 language tag like 'en-US'",
        "agents/support.yaml:11: voicelive.turn_detection.type: Input should be 'server_vad', 'semantic_vad' or 'azure_semantic_vad'",
    ]


def test_a_bad_value_inherited_from_defaults_is_reported_in_the_defaults_file(tree: Path) -> None:
    defaults = (tree / "agents/_defaults.yaml").read_text().replace("temperature: 0.2", "temperature: 7")
    (tree / "agents/_defaults.yaml").write_text(defaults)
    # every agent inherits it; the issue is reported once, where it was written
    assert problems(tree) == [
        "agents/_defaults.yaml:4: model.temperature: Input should be less than or equal to 2"
    ]


def test_missing_required_field(tree: Path) -> None:
    write(tree, SUPPORT, "description: no greeting\n")
    assert problems(tree) == ["agents/support.yaml:1: greeting: required field is missing"]


def test_prompt_and_prompt_file_are_exclusive(tree: Path) -> None:
    write(
        tree, "agents/billing/agent.yaml", "greeting: Billing.\nprompt: inline\nprompt_file: prompt.jinja\n"
    )
    assert problems(tree) == [
        "agents/billing/agent.yaml:3: prompt_file: set either prompt or prompt_file, not both"
    ]


def test_missing_prompt_file(tree: Path) -> None:
    (tree / "agents/billing/prompt.jinja").unlink()
    [issue] = problems(tree)
    assert issue.startswith("agents/billing/agent.yaml:3: prompt_file: prompt file 'prompt.jinja' not found")


def test_prompt_file_must_stay_inside_the_agents_directory(tree: Path) -> None:
    write(tree, "secret.jinja", "secret")
    write(tree, "agents/billing/agent.yaml", "greeting: Billing.\nprompt_file: ../../secret.jinja\n")
    [issue] = problems(tree)
    assert issue.startswith("agents/billing/agent.yaml:2: prompt_file: prompt_file must stay inside")


def test_jinja_syntax_errors_are_mapped_to_file_lines(tree: Path) -> None:
    write(
        tree,
        SUPPORT,
        """
        greeting: Hello {{ name
        return_greeting: "{% if x %}back"
        prompt: |
          Line one.
          Line two {% for %}.
        """,
    )
    write(tree, "agents/billing/prompt.jinja", "Fine line.\n{{ company | no_such_filter }}\n")
    assert problems(tree) == [
        "agents/billing/prompt.jinja:2: prompt_file: Jinja syntax error: No filter named 'no_such_filter'.",
        "agents/support.yaml:1: greeting: Jinja syntax error: unexpected end of template, expected 'end of print statement'.",
        "agents/support.yaml:2: return_greeting: Jinja syntax error: Unexpected end of template. Jinja was looking for the following tags: 'elif' or 'else' or 'endif'. The innermost block that needs to be closed is 'if'.",
        "agents/support.yaml:5: prompt: Jinja syntax error: Expected an expression, got 'end of statement block'",
    ]


def test_templates_must_render_without_caller_context(tree: Path) -> None:
    write(tree, SUPPORT, "greeting: Hello {{ caller_name.title() }}.\nprompt: Fine {{ company | upper }}.\n")
    assert problems(tree) == [
        "agents/support.yaml:1: greeting: fails to render when the caller context is missing "
        "(scenario 'helpdesk'): UndefinedError: 'caller_name' is undefined; "
        "guard it with {% if ... %} or | default(...)"
    ]


def test_a_broken_defaults_file_is_reported_alone(tree: Path) -> None:
    write(tree, "agents/_defaults.yaml", "model: [unclosed\n")
    [issue] = problems(tree)
    assert issue.startswith("agents/_defaults.yaml:2: invalid YAML:")


def test_unknown_tool_names_the_tool_and_suggests_the_closest(tree: Path) -> None:
    write(
        tree, SUPPORT, "greeting: Support here.\ntools:\n  - count_words\n  - lookup_ordr\n  - fly_to_moon\n"
    )
    assert problems(tree) == [
        "agents/support.yaml:4: tools[1]: unknown tool 'lookup_ordr' (did you mean 'lookup_order'?)",
        "agents/support.yaml:5: tools[2]: unknown tool 'fly_to_moon'",
    ]


def test_a_tool_listed_twice_or_a_handoff_tool_listed_as_a_tool(tree: Path) -> None:
    write(tree, SUPPORT, "greeting: Hi.\ntools: [count_words, count_words]\n")
    write(tree, "agents/extra.yaml", "greeting: Hi.\ntools: [route_to_front_desk]\n")
    assert problems(tree) == [
        "agents/extra.yaml:2: tools[0]: 'route_to_front_desk' is a handoff tool: add a handoff edge in the scenario instead of listing it",
        "agents/support.yaml:2: tools: tool 'count_words' is listed twice",
    ]


def test_duplicate_agent_names(tree: Path) -> None:
    write(tree, "agents/support_two.yaml", "name: support\ngreeting: Also support.\n")
    assert problems(tree) == [
        "agents/support_two.yaml:1: name: duplicate agent name 'support' (already defined in agents/support.yaml)"
    ]


def test_an_extra_directory_cannot_redefine_a_shipped_agent(tree: Path, tmp_path: Path) -> None:
    write(tmp_path, "extra/agents/billing.yaml", "greeting: Not the real billing.\nprompt: Hi.\n")
    shipped = RegistryRoot("shipped", tree, tree / "agents", tree / "scenarios", tree / "tools")
    with pytest.raises(RegistryError) as caught:
        load_registry_from([shipped, RegistryRoot.directory(tmp_path / "extra")], tool_packages=())
    [issue] = caught.value.issues
    assert issue.line == 1 and issue.field == "name"
    assert issue.message == (
        f"duplicate agent name 'billing' (already defined in {tree}/agents/billing/agent.yaml); "
        "an extra directory cannot redefine a shipped agent: pick another name"
    )


def test_duplicate_handoff_triggers(tree: Path) -> None:
    write(tree, SUPPORT, "greeting: Hi.\nhandoff:\n  trigger: route_to_front_desk\n")
    write(tree, "agents/other.yaml", "greeting: Hi.\nhandoff:\n  trigger: count_words\n")
    assert problems(tree) == [
        "agents/other.yaml:3: handoff.trigger: handoff trigger 'count_words' is already a tool (tools/desk_tools.py:32)",
        "agents/support.yaml:3: handoff.trigger: duplicate handoff trigger 'route_to_front_desk' (agent 'front_desk' in agents/front_desk.yaml uses it too)",
    ]


def test_one_handoff_tool_name_cannot_lead_to_two_agents(tree: Path) -> None:
    write(
        tree,
        "scenarios/second.yaml",
        """
        start_agent: billing
        agents: [billing, support]
        handoffs:
          - {from: billing, to: support, tool: handoff_to_billing}
        """,
    )
    [issue] = problems(tree)
    assert issue.startswith(
        "scenarios/second.yaml:4: handoffs[0].tool: duplicate handoff trigger 'handoff_to_billing': "
        "it already hands off to 'billing' (scenarios/helpdesk.yaml:9)"
    )


def test_unknown_handoff_agents_and_start_agent(tree: Path) -> None:
    write(
        tree,
        SCENARIO,
        """
        start_agent: front_dsk
        agents: [front_desk, billing, suport]
        handoffs:
          - from: front_desk
            to: billin
          - from: front_desk
            to: billing
          - from: support
            to: front_desk
        """,
    )
    assert problems(tree) == [
        "scenarios/helpdesk.yaml:1: start_agent: start agent 'front_dsk' is not in this scenario's agents list",
        "scenarios/helpdesk.yaml:2: agents[2]: unknown agent 'suport' (did you mean 'support'?)",
        "scenarios/helpdesk.yaml:5: handoffs[0].to: unknown agent 'billin' (did you mean 'billing'?)",
        "scenarios/helpdesk.yaml:8: handoffs[2].from: agent 'support' is not in this scenario's agents list",
    ]


def test_unreachable_agents(tree: Path) -> None:
    write(
        tree,
        SCENARIO,
        """
        start_agent: front_desk
        agents:
          - front_desk
          - billing
          - support
        handoffs:
          - {from: front_desk, to: billing}
          - {from: support, to: billing}
        """,
    )
    assert problems(tree) == [
        "scenarios/helpdesk.yaml:5: agents[2]: agent 'support' is unreachable: no handoff path from start agent 'front_desk'"
    ]


def test_duplicate_phone_numbers_across_scenarios(tree: Path) -> None:
    write(
        tree,
        "scenarios/second.yaml",
        "start_agent: support\nagents: [support]\nphone_numbers:\n  - '+18005550199'\n",
    )
    assert problems(tree) == [
        "scenarios/second.yaml:4: phone_numbers[0]: phone number +18005550199 already routes to "
        "scenario 'helpdesk' (scenarios/helpdesk.yaml:5)"
    ]


def test_phone_numbers_must_be_e164(tree: Path) -> None:
    write(
        tree, "scenarios/second.yaml", "start_agent: support\nagents: [support]\nphone_numbers: ['800-555']\n"
    )
    assert problems(tree) == [
        "scenarios/second.yaml:3: phone_numbers[0]: '800-555' is not an E.164 number like '+14255550100'"
    ]


def test_all_problems_are_collected_and_serialised_for_the_422(tree: Path) -> None:
    write(tree, "agents/billing/agent.yaml", 'greeting: "Hi {{"\nprompt_file: prompt.jinja\ntools: [nope]\n')
    write(tree, SUPPORT, "greeting: Hi.\ncolour: blue\n")
    write(tree, "scenarios/broken.yaml", "start_agent: [oops\n")
    with pytest.raises(RegistryError) as caught:
        load_registry_from([RegistryRoot.directory(tree)], tool_packages=())
    error = caught.value
    assert [(Path(i.file).relative_to(tree).as_posix(), i.line, i.field) for i in error.issues] == [
        ("agents/billing/agent.yaml", 1, "greeting"),
        ("agents/billing/agent.yaml", 3, "tools[0]"),
        ("agents/support.yaml", 2, "colour"),
        ("scenarios/broken.yaml", 2, None),
    ]
    body = error.to_json()
    assert json.loads(json.dumps(body)) == body
    assert body[1] == {
        "file": str(tree / "agents/billing/agent.yaml"),
        "line": 3,
        "field": "tools[0]",
        "message": "unknown tool 'nope'",
    }
    assert str(error).count("\n") == 3
