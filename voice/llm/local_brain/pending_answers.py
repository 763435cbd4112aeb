"""The answer to a question the agent asked for a tool's missing detail (`state.pending`): fill the slot it
asked for (from words or the keypad), take other details the caller volunteered, or let the caller move on to
another request said plainly enough, which puts this one back in the queue. Two misses give up on the slot.
A base of `Turn` (`turn.py`), which provides `start`, `advance`, `route` and `not_understood`."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from registries.toolstore.decorator import ToolSpec
from voice.llm.local_brain.asked import asks_in_so_many_words
from voice.llm.local_brain.dates import takes_back_a_date
from voice.llm.local_brain.decision import Decision
from voice.llm.local_brain.dialog import DialogReading
from voice.llm.local_brain.extract import extract_arguments
from voice.llm.local_brain.identifiers import begins_identifier, id_shape
from voice.llm.local_brain.keypad import keypad_value
from voice.llm.local_brain.params import param_kind, unwrap
from voice.llm.local_brain.router import SWITCH_THRESHOLD, Route
from voice.llm.local_brain.slots import (
    FREE_KINDS,
    LOOKUP_FIRST,
    WHY_WE_ASK,
    asks_why_needed,
    either_group,
    missing_slots,
    needs_confirmation,
    properties,
    slot_hint,
    slot_label,
)
from voice.llm.local_brain.spoken import digit_runs, normalize, tokens
from voice.llm.local_brain.state import DialogState, Pending

MAX_SLOT_ATTEMPTS = 2
MAX_QUEUED = 2  # as many waiting requests as a breath with two requests leaves (second_requests.py)
NOT_UNDERSTOOD = "Sorry, I didn't catch that."
_RESTATED_KINDS = frozenset({"name", "last4", "identifier"})  # cued values the caller may correct unasked
_MONEY_SAID = re.compile(r"\b(?:dollars?|bucks?|usd)\b|\$")  # an amount said in money words replaces one
_ALL_SAFE = re.compile(
    r"\b(?:nobody|no one|no-one|nobody's) (?:was |got |is |were )?(?:hurt|injured)\b|\bno (?:one|body) hurt\b|"
    r"\b(?:we're|we are|i'm|i am|everyone's|everyone is|everybody's|everybody is) (?:all )?(?:safe|fine|okay|ok|unhurt)\b|"
    r"\bi wasn't in (?:it|the car)\b|\bno injuries\b"
)
"""The caller says everyone is safe, as callers do after a loss: said instead of the answer, it is no miss."""
CANCEL = re.compile(r"\b(?:never ?mind|forget (?:it|about it)|cancel that|scratch that)\b")


class PendingAnswers:
    tools: dict[str, ToolSpec]
    convo: DialogReading
    state: DialogState
    today: date

    async def route(self, text: str) -> Route:
        raise NotImplementedError

    def start(self, spec: ToolSpec, text: str, context: str = "") -> Decision:
        raise NotImplementedError

    def advance(self, spec: ToolSpec, args: dict[str, Any]) -> Decision:
        raise NotImplementedError

    def not_understood(self, lead: str = NOT_UNDERSTOOD) -> Decision:
        raise NotImplementedError

    async def asks_after_cancel(self, text: str) -> bool:
        raise NotImplementedError

    def requeue(self, tool: str, args: dict[str, Any], text: str) -> None:
        raise NotImplementedError

    def unqueue(self, tool: str) -> bool:
        raise NotImplementedError

    def _is_free(self, spec: ToolSpec, name: str) -> bool:
        return param_kind(name, properties(spec).get(name, {})) in FREE_KINDS

    def _with_letters_said_before(self, spec: ToolSpec, new: dict[str, Any]) -> dict[str, Any]:
        """The digits read again after a number was not found ("A U 482193" failed, then "482913"): the
        letters the caller read the first time still stand, as they would for a person writing it down."""
        last = self.convo.outcomes[-1] if self.convo.outcomes else None
        if last is None or last.ok:
            return new
        out = dict(new)
        for name, value in new.items():
            before = last.args.get(name)
            shape = id_shape(name, unwrap(properties(spec).get(name, {})))
            if not (isinstance(value, str) and value.isdigit() and isinstance(before, str) and shape):
                continue
            letters = re.match(r"[A-Z]+", before)
            if letters and shape.count("L") == len(letters.group()) and shape.count("D") == len(value):
                out[name] = (
                    shape.split("D", 1)[0].replace("L" * len(letters.group()), letters.group()) + value
                )
        return out

    def _begins_asked_identifier(self, spec: ToolSpec, slots: list[str], text: str) -> bool:
        """The answer reads out the start of the identifier asked for and stops ("h o seven three")."""
        return any(
            param_kind(n, properties(spec).get(n, {})) == "identifier"
            and begins_identifier(text, id_shape(n, unwrap(properties(spec)[n])))
            for n in slots
            if n in properties(spec)
        )

    def _says_the_action(self, tool: str, text: str) -> bool:
        """Whether an answer that leaves the question for a money movement asks for one: its verb ("move",
        "transfer") or an amount; "in the savings, not the everyday one" shares its words but moves nothing."""
        spec, norm = self.tools[tool], normalize(text)
        verbs = {spec.name.split("_")[0], *spec.description.lower().split()[:1]}
        if any(re.search(rf"\b{re.escape(v)}", norm) for v in verbs):
            return True
        said = extract_arguments(spec.parameters, text, today=self.today)
        return any(param_kind(n, properties(spec)[n]) not in ("enum", "bool") for n in said)

    def _queue_others_named(self, spec: ToolSpec, pending: Pending, new: dict[str, Any], text: str) -> None:
        """ "Which one do you mean?" answered with two of the cards offered ("both, the one ending seventy seven
        oh two and the one ending thirty three eighty eight"): the first now, the same request for the other
        next."""
        offered = {
            r.digits
            for r in digit_runs(tokens(normalize(self.convo.last_spoken or "")))
            if len(r.digits) == 4
        }
        for slot in pending.slots:
            if param_kind(slot, properties(spec).get(slot, {})) != "last4" or slot not in new:
                continue
            said = [r.digits for r in digit_runs(tokens(normalize(text))) if len(r.digits) == 4]
            for other in dict.fromkeys(d for d in said if d in offered and d != new[slot]):
                queued = {"tool": spec.name, "text": "", "args": {**pending.args, **new, slot: other}}
                self.state.queued = [*self.state.queued, queued][:MAX_QUEUED]

    def _lookup_first(self, spec: ToolSpec, pending: Pending, new: dict[str, Any]) -> Decision | None:
        """A number read out because the agent asked for it ("what's your policy number?") is confirmed with its
        look-up (whose policy, what it covers) before the request it was asked for runs on it, as the prompts
        say: a misheard number is caught before a coverage answer is given for someone else's policy."""
        args = {**pending.args, **new}
        for param, lookup in LOOKUP_FIRST.items():
            if (
                param in pending.slots
                and param in new
                and lookup in self.tools
                and lookup != spec.name
                and not missing_slots(spec, args)
                and not self.convo.succeeded(lookup, **{param: new[param]})
            ):
                self.state.pending = Pending(spec.name, args, [], "")
                return Decision(calls=[(lookup, {param: new[param]})])
        return None

    async def on_pending(self, pending: Pending, text: str, keys: str | None) -> Decision | None:
        spec = self.tools.get(pending.tool)
        if spec is None:
            self.state.pending = None
            return None
        if keys is None and CANCEL.search(normalize(text)) and not await self.asks_after_cancel(text):
            self.state.pending = None
            return Decision("Okay. What else can I help you with?")
        new: dict[str, Any] = {}
        route: Route | None = None
        if keys is not None:
            for slot in pending.slots:
                value = keypad_value(slot, properties(spec).get(slot, {}), keys, today=self.today)
                if value is not None:
                    new[slot] = value
                    break
        else:
            asked = pending.slots or [n for n in properties(spec) if not self._is_free(spec, n)]
            heard = f"{pending.begun} {text}" if pending.begun else text  # the number's start, then its rest
            pending.begun = ""
            for name, value in extract_arguments(
                spec.parameters, heard, today=self.today, asked=asked
            ).items():
                unasked_ok = (
                    not self._is_free(spec, name) or param_kind(name, properties(spec)[name]) == "place"
                )
                # Who the caller is, said now, beats an earlier guess ("the account ends six six four zero").
                kind = param_kind(name, properties(spec)[name])
                renamed = (
                    kind in _RESTATED_KINDS
                    or (kind == "amount" and _MONEY_SAID.search(normalize(text)) is not None)
                    or (kind == "date" and takes_back_a_date(text, today=self.today))
                )  # "sorry, I said friday but it was thursday": the day said now replaces the earlier one
                if name in asked or (unasked_ok and (name not in pending.args or renamed)):
                    new[name] = value  # "what day?" "on Lake Street in Chicago": the place is kept too
            route = await self.route(text)
            new = self._with_letters_said_before(spec, new)
        filled = any(s in new for s in pending.slots) if pending.slots else bool(new)
        if keys is None and not filled and (hint := slot_hint(spec, pending.slots, text)) is not None:
            return Decision(f"{hint} {pending.question}")  # "where do I find the policy number?": still asked
        if keys is None and not filled and asks_why_needed(text):
            return Decision(f"{WHY_WE_ASK} {pending.question}")  # a question back about the question
        if keys is None and not filled and self._begins_asked_identifier(spec, pending.slots, text):
            pending.begun = text
            return Decision("Mm-hm, go on.")  # a breath inside the number: the rest follows, no miss
        if not filled and new and any(n in missing_slots(spec, pending.args) for n in new):
            filled = True  # another missing detail came first: take it and ask for the rest
        alternatives = set(either_group(spec, {}))
        if (
            not filled
            and any(s in alternatives for s in pending.slots)
            and (said := alternatives & new.keys())
        ):
            # "use my birthday then" for the last four asked again: either one will do; the other is dropped.
            filled = True
            pending.args = {k: v for k, v in pending.args.items() if k not in alternatives or k in said}
        free_answer = any(self._is_free(spec, s) for s in pending.slots)
        if (
            route is not None
            and route.tool is not None
            and route.tool != spec.name
            and (route.score >= SWITCH_THRESHOLD or asks_in_so_many_words(text))  # said in so many words
            and (not filled or free_answer or asks_in_so_many_words(text))
            and (not needs_confirmation(self.tools[route.tool]) or self._says_the_action(route.tool, text))
        ):
            self.state.pending = None  # the caller moved on to something else
            if self.unqueue(route.tool):  # ...to the other thing they asked for: this one waits its turn
                self.requeue(spec.name, {**pending.args, **new}, "")
            if route.tool == "verify_identity" and not self.convo.succeeded(route.tool):
                # Who they are instead of the answer: verify, then ask for the missing detail again.
                self.state.deferred = {"tool": spec.name, "args": {**pending.args, **new}, "ask": True}
            return self.start(self.tools[route.tool], text)
        if filled:
            self.state.pending = None
            if keys is None:
                self._queue_others_named(spec, pending, new, text)
            if (confirm := self._lookup_first(spec, pending, new)) is not None:
                return confirm
            return self.advance(spec, {**pending.args, **new})
        if keys is None and _ALL_SAFE.search(normalize(text)):
            return Decision(f"I'm glad to hear that. {pending.question}")  # "nobody was hurt": no miss
        pending.attempts += 1
        if pending.attempts >= MAX_SLOT_ATTEMPTS:
            self.state.pending = None
            what = slot_label(pending.slots[0]) if pending.slots else "that"
            return self.not_understood(f"Sorry, I still didn't get the {what}.")
        return Decision(f"{NOT_UNDERSTOOD} {pending.question}")
