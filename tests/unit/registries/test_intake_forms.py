"""Scenario intake forms and guidance checklists: the generated intake tool (schema, validation, what it
records), and invalid forms reported as `file:line: field: message` like every other registry problem."""

from __future__ import annotations

from pathlib import Path

from registries.loader import load_registry
from registries.toolstore.catalog import invoke_tool
from registries.toolstore.context import ToolContext

from .trees import load, problems

SCENARIO = "scenarios/helpdesk.yaml"

FORM = """
intake:
  fields:
    - name: issue
      type: text
      description: What went wrong.
    - name: urgency
      type: enum
      values: [low, high]
      description: How urgent it is.
    - name: devices
      type: number
      integer: true
      minimum: 1
      maximum: 5
      required: false
      description: How many devices are affected.
    - name: since
      type: date
      description: When it began.
    - name: downtime
      type: duration
      description: How long it has been down.
    - name: tried
      type: list
      description: What the caller tried.
"""


def add_to_scenario(tree: Path, text: str) -> None:
    path = tree / SCENARIO
    path.write_text(path.read_text() + text.lstrip("\n"))


def line_of(tree: Path, needle: str) -> int:
    lines = (tree / SCENARIO).read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if needle in line)


def test_a_form_generates_a_tool_whose_schema_follows_the_fields(tree: Path) -> None:
    add_to_scenario(tree, FORM)
    snapshot = load(tree)
    tool = snapshot.tools["submit_helpdesk_intake"]
    assert [t.name for t in snapshot.tools_for("front_desk", "helpdesk")][-1] == tool.name
    assert tool.name not in [t.name for t in snapshot.tools_for("billing", "helpdesk")]  # start agent only
    schema = tool.parameters
    assert schema["required"] == ["issue", "urgency", "since", "downtime", "tried"]
    assert schema["additionalProperties"] is False
    props = schema["properties"]
    assert props["issue"]["type"] == "string"
    assert props["urgency"]["enum"] == ["low", "high"]
    devices = props["devices"]["anyOf"][0]
    assert (devices["type"], devices["minimum"], devices["maximum"]) == ("integer", 1, 5)
    assert props["since"]["format"] == "date"
    assert props["downtime"]["pattern"].startswith("^\\d+")
    assert props["tried"]["type"] == "array" and props["tried"]["items"]["type"] == "string"
    assert "confirmed the read-back" in tool.description


async def test_the_tool_validates_like_the_form_and_records_the_result(tree: Path) -> None:
    add_to_scenario(tree, FORM)
    tool = load(tree).tools["submit_helpdesk_intake"]
    ctx = ToolContext(call_id="c1", caller="+1555", scenario="helpdesk", agent="front_desk")
    good = {
        "issue": "printer jams",
        "urgency": "high",
        "since": "2026-11-19",
        "downtime": "2 days",
        "tried": [],
    }
    bad = await invoke_tool(tool, {**good, "urgency": "panic", "downtime": "ages"}, ctx)
    assert not bad.ok and bad.error is not None
    assert "urgency" in bad.error.message and "downtime" in bad.error.message
    result = await invoke_tool(tool, good, ctx)
    assert result.ok, result.error
    assert result.output == {
        "intake_complete": True,
        "form": "intake",
        "result": {**good, "devices": None},
    }
    assert ctx.session["intake"]["result"]["since"] == "2026-11-19"
    assert result.spoken == "Thank you, I've recorded all of that."


def test_invalid_form_fields_are_reported_at_their_lines(tree: Path) -> None:
    add_to_scenario(
        tree,
        """
intake:
  fields:
    - name: urgency
      type: enum
      description: How urgent.
    - name: count
      type: number
      minimum: 5
      maximum: 1
      description: How many.
    - name: note
      type: text
      descripton: typo
""",
    )
    enum_line, count_line, note_line = (line_of(tree, f"name: {n}") for n in ("urgency", "count", "note"))
    assert problems(tree) == [
        f"{SCENARIO}:{enum_line}: intake.fields[0]: an enum field needs at least two values",
        f"{SCENARIO}:{count_line}: intake.fields[1]: minimum is greater than maximum",
        f"{SCENARIO}:{note_line}: intake.fields[2].description: required field is missing",
        f"{SCENARIO}:{note_line + 2}: intake.fields[2].descripton: unknown key 'descripton' "
        "(did you mean 'description'?)",
    ]


def test_form_references_are_checked(tree: Path) -> None:
    add_to_scenario(
        tree,
        """
intake:
  agents: [front_desk, nobody]
  red_flag_tool: refund_order
  red_flags:
    - name: fire
      phrases: [on fire]
  fields:
    - name: issue
      type: text
      description: What went wrong.
guidance:
  checklist:
    - id: order_looked_up
      label: Order looked up
      tools: [lookup_ordr]
""",
    )
    assert problems(tree) == [
        f"{SCENARIO}:{line_of(tree, 'agents: [front_desk, nobody]')}: intake.agents[1]: "
        "agent 'nobody' is not in this scenario's agents list",
        f"{SCENARIO}:{line_of(tree, 'red_flag_tool')}: intake.red_flag_tool: "
        "agent 'front_desk' must list 'refund_order' in its tools to act on red flags",
        f"{SCENARIO}:{line_of(tree, 'tools: [lookup_ordr]')}: guidance.checklist[0].tools[0]: "
        "unknown tool 'lookup_ordr' (did you mean 'lookup_order'?)",
    ]


def test_an_intake_tool_name_must_not_clash_with_a_tool(tree: Path) -> None:
    add_to_scenario(tree, FORM.replace("intake:\n", "intake:\n  tool: lookup_order\n", 1))
    [issue] = problems(tree)
    assert issue.startswith(f"{SCENARIO}:{line_of(tree, 'tool: lookup_order')}: intake.tool: ")
    assert "is already a tool" in issue


def test_the_shipped_triage_scenario_declares_its_intake_and_red_flags() -> None:
    snapshot = load_registry()
    triage = snapshot.scenarios["triage"]
    assert triage.intake is not None
    assert [f.name for f in triage.intake.fields] == [
        "chief_complaint",
        "onset",
        "duration",
        "severity",
        "associated_symptoms",
        "medications",
        "allergies",
    ]
    assert {r.name for r in triage.intake.red_flags} == {"chest_pain", "trouble_breathing", "stroke_signs"}
    severity = snapshot.tools["submit_triage_intake"].parameters["properties"]["severity"]
    assert (severity["type"], severity["minimum"], severity["maximum"]) == ("integer", 0, 10)
    prompt = " ".join(snapshot.agents["triage_nurse"].prompt_template.lower().split())
    assert "never diagnose" in prompt and "not medical advice" in prompt
