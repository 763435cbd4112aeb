"""YAML that would blow up a load is refused before it is built, wherever it is, at its file and line: alias
bombs (each alias level multiplies the size; these would never finish expanding), deep nesting (which crashes
libyaml's recursive composer), recursive aliases, and oversized files."""

from __future__ import annotations

from pathlib import Path

import pytest

from registries.yamldoc import MAX_YAML_BYTES, YamlDocError, load_yaml_doc

from .trees import problems, write

BOMB = "the document expands to more than 100000 keys and values through aliases (*name)"


def _levels(count: int, indent: str, *, mapping: bool = False) -> list[str]:
    """Anchors a0..a{count-1}: a0 is ten scalars, each next level ten aliases of the previous one."""
    lines = []
    for level in range(count):
        items = ", ".join(["lol"] * 10 if level == 0 else [f"*a{level - 1}"] * 10)
        lines.append(f"{indent}{f'a{level}: ' if mapping else '- '}&a{level} [{items}]")
    return lines


def test_an_alias_bomb_inside_an_agents_tools_list_is_refused_at_its_line(tree: Path) -> None:
    # 10**30 values once expanded; the fifth level (line 9) is the first past the limit.
    bomb = "\n".join(
        ["greeting: Support here.", "description: x", "name: support", "tools:", *_levels(30, "  ")]
    )
    write(tree, "agents/support.yaml", bomb + "\n")
    assert problems(tree) == [f"agents/support.yaml:9: {BOMB}"]


def test_an_alias_bomb_given_as_the_prompt_is_refused_at_the_prompt_line(tree: Path) -> None:
    # The anchors alone stay under the limit (template_vars may hold anything); the prompt multiplies them.
    lines = ["greeting: Support here.", "template_vars:", *_levels(4, "  ", mapping=True)]
    lines.append("prompt: [" + ", ".join(["*a3"] * 10) + "]")
    write(tree, "agents/support.yaml", "\n".join(lines) + "\n")
    assert problems(tree) == [f"agents/support.yaml:7: {BOMB}"]


def test_an_alias_bomb_in_defaults_or_a_scenario_is_refused(tree: Path) -> None:
    bomb = "\n".join(["template_vars:", "  bomb:", *_levels(12, "    ")]) + "\n"
    defaults = (tree / "agents/_defaults.yaml").read_text()
    (tree / "agents/_defaults.yaml").write_text(defaults + bomb)
    scenario = (tree / "scenarios/helpdesk.yaml").read_text().replace("template_vars:\n", bomb + "  x:\n")
    (tree / "scenarios/helpdesk.yaml").write_text(scenario)
    found = problems(tree)
    assert [p.split(":")[0] for p in found] == ["agents/_defaults.yaml", "scenarios/helpdesk.yaml"]
    assert all(p.endswith(BOMB) for p in found), found


def test_deep_nesting_is_refused_before_the_parser_recurses(tree: Path) -> None:
    write(tree, "agents/support.yaml", "greeting: Hi.\ntools: " + "[" * 100_000 + "]" * 100_000 + "\n")
    assert problems(tree) == ["agents/support.yaml:2: nested more than 64 levels deep"]


def test_a_recursive_alias_is_refused() -> None:
    with pytest.raises(YamlDocError) as caught:
        load_yaml_doc(Path("agent.yaml"), "greeting: Hi.\ntools: &loop\n  - x\n  - *loop\n")
    assert (caught.value.line, caught.value.message) == (
        4,
        "alias *loop is inside the collection it names (a recursive structure)",
    )


def test_an_oversized_file_is_refused_unread(tree: Path) -> None:
    write(tree, "agents/support.yaml", "greeting: Hi.\nprompt: '" + "x" * MAX_YAML_BYTES + "'\n")
    assert problems(tree) == [f"agents/support.yaml: file is larger than {MAX_YAML_BYTES} bytes"]
    with pytest.raises(YamlDocError, match="file is larger than"):
        load_yaml_doc(Path("agent.yaml"), "x" * (MAX_YAML_BYTES + 1))


def test_ordinary_anchors_and_merge_keys_still_load() -> None:
    doc, _ = load_yaml_doc(
        Path("agent.yaml"),
        "base: &base {rate: '+0%', pitch: low}\nvoice:\n  <<: *base\n  rate: '+5%'\nlangs: &l [en-US]\nmore: *l\n",
    )
    assert doc["voice"] == {"rate": "+5%", "pitch": "low"} and doc["more"] == ["en-US"]
