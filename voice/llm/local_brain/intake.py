"""The local brain filling a scenario's intake form (the tool generated from it carries the form: `ToolSpec.intake`).

While the form is open, each caller turn is read here before the brain's routing:
- a red flag ("chest pain", not "no chest pain") ends the intake at once: the form's red-flag line, then its
  red-flag tool (a transfer to a person);
- asking for a person or to stop goes to the normal routing (transfer_to_human, end_call);
- a request for advice or a diagnosis ("is it serious?") gets the form's `advice_reply` and the question again;
- otherwise the answer fills the field that was asked (the greeting asks the first one), plus typed values said
  in passing ("a six out of ten since yesterday"); the next missing field is asked; when none is missing the
  answers are read back, and a yes calls the intake tool with the structured result. A no lets the caller
  name the part to change.
Once the intake tool has run, the brain goes back to its normal routing. State lives in `scratch["intake"]`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from registries.scenariostore.intake import IntakeField, IntakeForm
from registries.toolstore.decorator import ToolSpec
from voice.llm.local_brain.decision import Decision
from voice.llm.local_brain.dialog import DialogReading
from voice.llm.local_brain.intake_values import (
    asks_for_advice,
    mentioned_field,
    question_for,
    raised_red_flag,
    read_back,
    read_value,
    values_in_passing,
)
from voice.llm.local_brain.keypad import dtmf_keys
from voice.llm.local_brain.replies import render_reply
from voice.llm.local_brain.spoken import normalize
from voice.llm.local_brain.yes_no import parse_yes_no

STATE_KEY = "intake"
MAX_ATTEMPTS = 2  # an optional field not understood twice is skipped; a required one is asked again
NOT_CAUGHT = "Sorry, I didn't catch that."

_LEAVE_FORM = re.compile(
    r"\b(?:(?:talk|speak) (?:to|with)|transfer me|connect me|get me) (?:a |an |the |to )*"
    r"(?:real )?(?:person|human|nurse|doctor|someone|somebody|representative|agent|operator)\b"
    r"|\boperator\b|\b(?:hang up|goodbye|bye)\b"
)


@dataclass
class IntakeState:
    values: dict[str, Any] = field(default_factory=dict)
    asked: str | None = None  # the field asked last; None: the greeting asked the first
    skipped: list[str] = field(default_factory=list)
    confirming: bool = False  # the read-back was said; waiting for yes or no
    correcting: bool = False  # the caller said no; waiting for which part to change
    red_flag: str | None = None
    attempts: int = 0
    recorded_call: str | None = None  # the intake tool call whose result was replied to

    @classmethod
    def load(cls, scratch: Mapping[str, Any]) -> IntakeState:
        raw = scratch.get(STATE_KEY)
        if not isinstance(raw, Mapping):
            return cls()
        try:
            return cls(**{k: v for k, v in raw.items() if k in cls.__dataclass_fields__})
        except TypeError:
            return cls()

    def save(self, scratch: dict[str, Any]) -> None:
        scratch[STATE_KEY] = asdict(self)


def form_tool(tools: Sequence[ToolSpec]) -> ToolSpec | None:
    return next((t for t in tools if t.intake is not None), None)


def without_intake(tools: Sequence[ToolSpec]) -> list[ToolSpec]:
    """The tools the brain's routing chooses from: the intake tool is only called by the form filling."""
    return [t for t in tools if t.intake is None]


def decide_intake(
    tools: Sequence[ToolSpec], conversation: DialogReading, scratch: dict[str, Any], today: date
) -> Decision | None:
    """This turn's decision while an intake form is open, or None to let the brain's routing decide."""
    spec = form_tool(tools)
    if spec is None or spec.intake is None:
        return None
    state = IntakeState.load(scratch)
    recorded = next((o for o in conversation.unanswered if o.name == spec.name and o.ok), None)
    if recorded is not None and recorded.call_id != state.recorded_call:
        state.recorded_call = recorded.call_id
        state.save(scratch)
        return Decision(render_reply(spec, recorded.output, recorded.args))
    if conversation.succeeded(spec.name):
        return None
    decision = _FormFilling(spec, spec.intake, {t.name: t for t in tools}, state, today).decide(conversation)
    state.save(scratch)
    return decision


class _FormFilling:
    def __init__(
        self, spec: ToolSpec, form: IntakeForm, tools: Mapping[str, ToolSpec], state: IntakeState, today: date
    ) -> None:
        self.spec, self.form, self.tools, self.state, self.today = spec, form, tools, state, today

    def decide(self, conversation: DialogReading) -> Decision | None:
        if conversation.unanswered:
            if self.state.red_flag and any(
                o.name == self.form.red_flag_tool for o in conversation.unanswered
            ):
                return Decision()  # the red-flag line was said already; the transfer follows the turn
            return None  # tool results (an intake tool error, a lookup): the brain says what they mean
        text = conversation.last_user
        if text is None or dtmf_keys(text) is not None or self.state.red_flag:
            return None
        norm = normalize(text)
        flag = raised_red_flag(self.form, norm)
        if flag is not None and self.form.red_flag_tool in self.tools:
            self.state.red_flag = flag.name
            reason = f"red flag: {flag.name.replace('_', ' ')}"
            wants_reason = "reason" in self.tools[self.form.red_flag_tool].parameters.get("properties", {})
            call = (self.form.red_flag_tool, {"reason": reason} if wants_reason else {})
            return Decision(self.form.red_flag_reply, [call])
        if _LEAVE_FORM.search(norm):
            return None
        if self.state.confirming:
            return self.on_confirm(text)
        if self.state.correcting:
            return self.on_correction(text)
        return self.on_answer(text)

    # --- filling ---------------------------------------------------------------------------------------
    def missing(self) -> list[IntakeField]:
        done = set(self.state.values) | set(self.state.skipped)
        return [f for f in self.form.fields if f.name not in done]

    def on_answer(self, text: str) -> Decision:
        missing = self.missing()
        asked = self.form.field(self.state.asked or "") or (missing[0] if missing else None)
        if asked is not None and self.form.advice_reply and asks_for_advice(text):
            # "Do you think it's a migraine?" is no answer, and the form never gives advice: say so, ask again.
            self.state.asked = asked.name
            return Decision(f"{self.form.advice_reply} {question_for(asked)}")
        if asked is not None:
            value = read_value(asked, text, today=self.today, asked=True)
            passing = values_in_passing(
                self.form, text, today=self.today, skip=[*self.state.values, asked.name]
            )
            self.state.values.update(passing)
            if value is not None:
                self.state.values[asked.name] = value
                self.state.attempts = 0
            else:
                self.state.attempts += 1
                if asked.required or self.state.attempts < MAX_ATTEMPTS:
                    self.state.asked = asked.name
                    return Decision(f"{NOT_CAUGHT} {question_for(asked)}")
                self.state.skipped.append(asked.name)
                self.state.attempts = 0
        return self.next_step()

    def next_step(self, lead: str = "") -> Decision:
        missing = self.missing()
        if missing:
            self.state.asked = missing[0].name
            return Decision(f"{lead} {question_for(missing[0])}".strip())
        self.state.asked = None
        if not self.form.confirm:
            return self.submit()
        self.state.confirming = True
        return Decision(f"{lead} {read_back(self.form, self.state.values, self.today)}".strip())

    def submit(self) -> Decision:
        self.state.confirming = self.state.correcting = False
        return Decision(calls=[(self.spec.name, dict(self.state.values))])

    # --- the read-back ---------------------------------------------------------------------------------
    def on_confirm(self, text: str) -> Decision:
        changes = {
            name: value
            for name, value in values_in_passing(self.form, text, today=self.today, skip=()).items()
            if self.state.values.get(name) != value
        }
        answer = parse_yes_no(text)
        if answer is True and not changes:
            return self.submit()
        if changes:  # "no, it's a seven out of ten"
            self.state.values.update(changes)
            return Decision(read_back(self.form, self.state.values, self.today))
        if answer is False:
            target = mentioned_field(self.form, text)
            if target is not None:
                return self.reask(target)
            self.state.confirming, self.state.correcting = False, True
            return Decision("Sorry about that. Which part should I change?")
        return Decision(f"{NOT_CAUGHT} Is everything I read back correct? Please say yes or no.")

    def on_correction(self, text: str) -> Decision:
        self.state.correcting = False
        target = mentioned_field(self.form, text)
        if target is not None:
            return self.reask(target)
        self.state.values.clear()
        self.state.skipped.clear()
        return self.next_step("Let's go through it again.")

    def reask(self, target: IntakeField) -> Decision:
        self.state.confirming = self.state.correcting = False
        self.state.values.pop(target.name, None)
        if target.name in self.state.skipped:
            self.state.skipped.remove(target.name)
        self.state.asked = target.name
        return Decision(f"Okay. {question_for(target)}")
