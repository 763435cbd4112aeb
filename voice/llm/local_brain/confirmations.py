"""The caller's answer to "Just to confirm, ... Shall I go ahead?": a plain yes runs the call, a no drops it, and a
changed detail ("no, make it three hundred", "let's do two fifty instead") is confirmed anew. A base of `Turn`
(`turn.py`), which provides `advance` and `call`."""

from __future__ import annotations

import math
import re
from datetime import date
from typing import Any

from registries.toolstore.decorator import ToolSpec
from voice.llm.local_brain.decision import Decision
from voice.llm.local_brain.extract import extract_arguments
from voice.llm.local_brain.meta import calls_it_off
from voice.llm.local_brain.params import param_kind
from voice.llm.local_brain.quantities import amount_readings, as_json_number
from voice.llm.local_brain.router import SWITCH_THRESHOLD, Route
from voice.llm.local_brain.second_requests import MAX_QUEUED
from voice.llm.local_brain.slots import (
    ANYTHING_ELSE,
    CALL_CONTROL,
    FREE_KINDS,
    confirmation_question,
    properties,
)
from voice.llm.local_brain.spoken import normalize
from voice.llm.local_brain.state import DialogState
from voice.llm.local_brain.yes_no import BOOL_CUES, clear_yes, parse_flag, parse_yes_no

_CHANGE = re.compile(
    r"\b(?:make it|make that|change (?:it|that)|instead|rather|i meant|i mean|let's do|how about)\b"
)
"""A changed detail at a confirmation ("make it seven fifty instead"), not a new question."""
_CALLED_OFF_LEAD = re.compile(
    r"(?i)^.*\b(?:don't do (?:that|it)|do not do (?:that|it)|forget (?:it|that|about it)|never ?mind|cancel (?:that|it))"
    r"\b(?:[\s,.!]*(?:after all|then|please|actually))*[\s,.!]*"
)
_YES_THEN = re.compile(r"^(?P<yes>[^.?!;]+?)(?:[.?!;]+|,\s*(?=and\b))\s*(?P<rest>\S.*)$", re.DOTALL)
"""A yes in a sentence of its own, then more: "yep, that's correct. and what's left in savings after that?"."""
_TAKEN_BACK = re.compile(r"\b(?:wait|hold on|hang on|hold off|stop|actually|on second thought)\b")
_NEW_REQUEST_WORDS = 4
"""Words after "don't do that" that make a request of their own ("just tell me what's in checking")."""


def after_call_off(text: str) -> str:
    """What follows "no, don't do that" in the caller's words (all of them when nothing was called off)."""
    rest = _CALLED_OFF_LEAD.sub("", text, count=1)
    return text if rest == text else rest.strip(" .,!?")


def answers_another_question(spec: ToolSpec, text: str) -> bool:
    """Whether a yes carries the answer to another tool's question ("yes, regular shipping" names how a card
    is sent): a flag's own cue words for a flag the confirmed tool does not have."""
    names = properties(spec).keys()
    return any(name not in names and parse_flag(name, text, asked=False) is not None for name in BOOL_CUES)


class Confirmations:
    tools: dict[str, ToolSpec]
    state: DialogState
    today: date

    async def route(self, text: str) -> Route:
        raise NotImplementedError

    async def confirm_then_ask(self, text: str) -> Decision | None:
        """ "Yes, go ahead. And what will my savings be after that?": the yes runs the confirmed call, and the
        question that follows waits for its result (queued), instead of the question replacing the yes."""
        confirm, split = self.state.confirm or {}, _YES_THEN.match(text.strip())
        if split is None or not clear_yes(split.group("yes")) or len(split.group("rest").split()) < 3:
            return None
        rest = normalize(split.group("rest"))
        if (
            parse_yes_no(rest) is False
            or calls_it_off(rest)
            or _CHANGE.search(rest)
            or _TAKEN_BACK.search(rest)
        ):
            return None  # "yes. no wait, don't do that": the yes is taken back
        route = await self.route(split.group("rest"))
        if (
            route.tool is None
            or route.tool in (confirm.get("tool"), *CALL_CONTROL)
            or route.score < SWITCH_THRESHOLD
        ):
            return None  # "yes. no wait, make it two hundred" changes the confirmed request itself
        decided = self.on_confirm(split.group("yes"), None)
        if decided is not None and decided.calls:
            asked: dict[str, Any] = {
                "tool": route.tool,
                "text": split.group("rest"),
                "context": "",
                "args": {},
            }
            self.state.queued = [asked, *self.state.queued][:MAX_QUEUED]
        return decided

    def advance(self, spec: ToolSpec, args: dict[str, Any]) -> Decision:
        raise NotImplementedError

    def call(self, spec: ToolSpec, args: dict[str, Any], *, keep_pending: bool = False) -> Decision:
        raise NotImplementedError

    def on_confirm(self, text: str, keys: str | None) -> Decision | None:
        confirm, self.state.confirm = self.state.confirm or {}, None
        spec = self.tools.get(str(confirm.get("tool")))
        if spec is None:
            return None
        answer = {"1": True, "2": False}.get(keys or "") if keys is not None else parse_yes_no(text)
        args = dict(confirm.get("args") or {})
        said = {
            k: v
            for k, v in extract_arguments(spec.parameters, text, today=self.today).items()
            if param_kind(k, properties(spec).get(k, {})) not in FREE_KINDS
        }
        changes = {k: v for k, v in said.items() if args.get(k) != v}
        if keys is None and calls_it_off(text):
            # "no, wait, don't do that. just tell me my balance": a refusal, and what follows is a new request
            if len(after_call_off(text).split()) >= _NEW_REQUEST_WORDS:
                return None
            answer, changes = False, {}
        # "yes, a thousand, from checking to savings, that's correct": a yes that reads the request back.
        restated = bool(said) and not changes
        if answer is True and keys is None and not clear_yes(text) and not restated:
            answer = None  # "okay, H O seven three ..." is not a yes to "shall I connect you?"
        if answer is True and keys is None and answers_another_question(spec, text):
            # "yes, regular shipping" to "shall I move the money?": a yes to some other question, so the
            # irreversible action waits for a yes to its own.
            self.state.confirm = confirm
            return Decision(f"Sorry, I want to be sure. {confirmation_question(spec, args)}")
        if "amount" in args and "amount" not in changes and (readings := amount_readings(text)):
            # "let's do two fifty instead" of 400: the reading nearest the amount it replaces.
            previous = float(args["amount"]) or 1.0
            nearest = min(readings, key=lambda r: abs(math.log(r / previous)))
            if nearest != args["amount"]:
                changes["amount"] = as_json_number(nearest)
        if (
            changes
            and keys is None
            and (answer is False or (answer is None and _CHANGE.search(normalize(text))))
        ):
            # "no, make it three hundred" / "make it seven fifty instead": confirm the changed request.
            return self.advance(spec, {**args, **changes})
        if answer is True:
            return self.call(spec, args)
        if answer is False:
            return Decision(f"Okay, I won't do that. {ANYTHING_ELSE}")
        return None  # neither yes nor no: treat it as a new request
