"""One decision of the local brain (`Turn`), read from the end of the history:

- the caller spoke: route the utterance to a tool (`router.py`), extract its arguments (`extract.py`), then
  either call it (one `ToolCall`), ask for ONE missing slot, or ask to confirm (money movements);
- tool results came back: say the tool's rendered `reply` (or its caller-safe error) and continue whatever
  is in progress (the next slot question, the call that was waiting for identity verification).

Handoff results produce no text: the cascade moves the call and the new agent greets.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from datetime import date
from typing import Any

from registries.toolstore.decorator import ToolSpec
from voice.llm.local_brain.confirmations import Confirmations, after_call_off
from voice.llm.local_brain.decision import Decision
from voice.llm.local_brain.dialog import DialogReading, ToolOutcome
from voice.llm.local_brain.extract import extract_arguments, sentence
from voice.llm.local_brain.follow_ups import ALREADY_DONE, FollowUps
from voice.llm.local_brain.identity_words import request_without_identity
from voice.llm.local_brain.item_answers import ItemAnswers
from voice.llm.local_brain.keyed_entries import KeyedEntries
from voice.llm.local_brain.keypad import dtmf_keys
from voice.llm.local_brain.meta import asks_for_person, classify, says_goodbye
from voice.llm.local_brain.meta_turn import MetaTurn
from voice.llm.local_brain.params import param_kind, unwrap
from voice.llm.local_brain.pending_answers import CANCEL, NOT_UNDERSTOOD, PendingAnswers
from voice.llm.local_brain.recall import (
    points_back,
    referred_value,
    said_earlier,
    story_handed_over,
    story_told_before,
)
from voice.llm.local_brain.recovery import Recovery
from voice.llm.local_brain.refusals import refuses
from voice.llm.local_brain.replies import offer_after, render_reply
from voice.llm.local_brain.router import IntentRouter, Route
from voice.llm.local_brain.safety import CALL_911, in_danger
from voice.llm.local_brain.second_requests import SecondRequests
from voice.llm.local_brain.slots import (
    ANYTHING_ELSE,
    CALL_CONTROL,
    CARRY_PARAMS,
    LOOKUP_FIRST,
    amends_a_record,
    confirmation_question,
    creates_record,
    either_group,
    missing_slots,
    needs_confirmation,
    offer,
    properties,
    required,
    slot_question,
)
from voice.llm.local_brain.spoken import normalize, without_fillers
from voice.llm.local_brain.state import DialogState, Pending
from voice.llm.local_brain.told_again import told_again
from voice.llm.local_brain.yes_no import parse_yes_no, plain_no, without_restating

MAX_ANSWERED = 64  # answered tool-call ids kept (only the current turn's matter)
SHORT_ANSWER_WORDS = 4  # "yes", "no thanks", "yeah go ahead": read against the question that was asked

REPLACE = "order_replacement_card"
OFFER_PERSON = "Or I can connect you with a person."
CONFIRM_PERSON = "Would you like me to connect you with a person?"

_GREETING = re.compile(r"^(?:hi|hello|hey|good (?:morning|afternoon|evening))(?: there)?[\s,.!]*$")
_THANKS = re.compile(
    r"^(?:(?:ok(?:ay)?|great|perfect|awesome|alright|all right|cool|got it|good|i see|makes sense|"
    r"(?:that|it) makes sense|(?:that|it)'s (?:good|great|fine|helpful)|good to know)[,.!]? )*"
    r"(?:thanks|thank you)(?: so much| very much| a lot)?(?: (?:for|with) (?:the|your|all the|all your) help| for that)?"
    r"[\s,.!]*$"
)
_NO_THANKS = re.compile(
    r"^(?:no|nope|nah)\W*(?:(?:thanks|thank you|i'm good|i'm fine|all good|that's it|that's all)\b\W*)+$"
)
"""A "no" with thanks ("no thanks", "nope, I'm good"): a closing even when nothing was asked."""
_OPEN_QUESTION = re.compile(
    r"\b(?:anything else|what else|how (?:can|may) i help|what can i (?:do|help)|something else)\b",
    re.IGNORECASE,
)


class Turn(
    SecondRequests, MetaTurn, FollowUps, Confirmations, Recovery, KeyedEntries, PendingAnswers, ItemAnswers
):
    """One decision; holds the request's view so the steps read simply."""

    def __init__(
        self,
        router: IntentRouter,
        tools: Sequence[ToolSpec],
        conversation: DialogReading,
        state: DialogState,
        today: date,
        agent: str = "",
    ) -> None:
        self.router = router
        self.agent = agent
        self.tool_list = list(tools)
        self.tools = {t.name: t for t in tools}
        self.convo = conversation
        self.state = state
        self.today = today
        self.known = {**state.known, **conversation.known_values(CARRY_PARAMS)}

    async def decide(self) -> Decision:
        fresh = [o for o in self.convo.unanswered if o.call_id not in self.state.answered]
        if self.convo.unanswered:
            self.state.answered = [*self.state.answered, *(o.call_id for o in fresh)][-MAX_ANSWERED:]
        if fresh and self.convo.latest_user and all(self._handed_to_me(o) for o in fresh):
            # A discrete handoff asks the new agent right away: act on what the caller asked for.
            return await self.on_user(self.convo.latest_user)
        if fresh:
            return self.after_tools(fresh)
        if self.convo.handed_over_now:
            return await self.on_handover(self.convo.handovers[-1])
        if self.convo.last_user is None:
            return Decision()  # nothing new since the agent last spoke (e.g. right after its greeting)
        return await self.on_user(self.convo.last_user)

    def _handed_to_me(self, outcome: ToolOutcome) -> bool:
        return outcome.ok and bool(self.agent) and outcome.output.get("handoff_to") == self.agent

    # --- routing -------------------------------------------------------------------------------------------
    async def route(self, text: str) -> Route:
        return await asyncio.to_thread(self.router.route, self._routable(), text)

    def _routable(self) -> list[ToolSpec]:
        """The tools a request may be routed to: one that corrects a record ("correct_claim") only once this
        call has filed one; before that, "checking on my claim" is no correction."""
        filed = any(
            o.ok and creates_record(self.tools[o.name]) for o in self.convo.outcomes if o.name in self.tools
        )
        return [t for t in self.tool_list if filed or not amends_a_record(t)]

    def not_understood(self, lead: str = NOT_UNDERSTOOD) -> Decision:
        self.state.misses += 1
        text = f"{lead} {offer(self.tool_list)}"
        if self.state.misses >= 2 and "transfer_to_human" in self.tools:
            text += f" {OFFER_PERSON}"
        return Decision(text)

    # --- the caller spoke ----------------------------------------------------------------------------------
    async def on_user(self, text: str) -> Decision:
        self.state.held = None  # an answer held from the caller's previous line is stale now
        decision = await self.on_words(text)
        if in_danger(text) and CALL_911 not in (self.convo.last_spoken or ""):
            return Decision(f"{CALL_911} {decision.text}".strip(), decision.calls)
        return decision

    async def on_words(self, text: str) -> Decision:
        text = without_fillers(text)
        keys = dtmf_keys(text)
        meta = classify(text) if keys is None else None
        if meta is not None:
            return self.on_meta(meta, text)
        if keys is None:
            adopted = await self.adopt_handover(text)
            if adopted is not None:
                return adopted
        if self.state.confirm is not None:
            decided = (await self.confirm_then_ask(text) if keys is None else None) or self.on_confirm(
                text, keys
            )
            if decided is not None:
                return decided
            text = after_call_off(text)  # "no, don't do that. just tell me ...": the new request alone
        if keys is not None and (announced := self.on_announced_keys(keys)) is not None:
            return announced
        if keys is None and (fixed := self.on_digits_corrected(text)) is not None:
            return fixed  # "sorry, it ends in two, not three": the number just used, put right
        if self.state.pending is not None and keys is None and _THANKS.match(normalize(text).strip(" .,!?")):
            return Decision(f"You're welcome. {self.state.pending.question}")  # the question still stands
        if self.state.pending is not None:
            decided = await self.on_pending(self.state.pending, text, keys)
            if decided is not None:
                return decided
        if keys is not None:
            return self.not_understood()
        norm = normalize(text).strip(" .,!?")
        if not re.search(r"[a-z0-9]", norm):
            return self.not_understood()
        if CANCEL.search(norm) and not await self.asks_after_cancel(text):
            self.state.queued = []
            return Decision("Okay. What else can I help you with?")
        if _GREETING.match(norm):
            return Decision("Hello! How can I help you today?")
        if _THANKS.match(norm):
            return Decision(f"You're welcome. {ANYTHING_ELSE}")
        if (complete := self.on_is_that_all(text)) is not None:
            return complete
        answer, short = parse_yes_no(norm), without_restating(norm)  # "obviously not. I just said that."
        if (
            answer is not None
            and len(short.split()) <= SHORT_ANSWER_WORDS
            and (answer or plain_no(short))
            and not await self.request_said_politely(short, answer)
        ):
            return await self.on_short_answer(text, answer)
        if answer is not None and (offered := await self.on_answer_to_offer(text, answer)) is not None:
            return offered
        if (retried := self.on_retry(text)) is not None:
            return retried
        if (corrected := self.on_correction(text)) is not None:
            return corrected
        route = await self.route_request(text)
        verifier = self.tools.get("verify_identity")
        if (
            route.tool is None
            and verifier is not None
            and not self.convo.succeeded(verifier.name)
            and request_without_identity(text) is not None
        ):
            return self.start(verifier, text)  # who they are is understood even when the rest is not
        if route.tool is None:
            return self.on_unrouted(text) or self.not_understood()
        self.state.misses = 0
        if self.tools[route.tool].handoff is None:
            first = await self.keep_second_request(text, route.tool)
        else:
            first = await self.own_part_first(text, route.tool)
        if first:
            return self.start(
                self.tools[first[0]], first[1], text
            )  # its clause, then the rest for what it lacks
        if again := told_again(self.tools[route.tool], text, self.convo.outcomes, today=self.today):
            return Decision(again)
        return self.start(self.tools[route.tool], text)

    async def on_short_answer(self, text: str, yes: bool, offered: str | None = None) -> Decision:
        """ "yes" / "no thanks": what it means depends on the question the agent just asked."""
        question = self.convo.last_question
        if question is None or _OPEN_QUESTION.search(question):
            if yes:
                return Decision("Sure. What can I help you with?")
            if question is None and not says_goodbye(text) and not _NO_THANKS.match(normalize(text)):
                return Decision(f"Okay. {ANYTHING_ELSE}")  # a "no" that answers nothing asked ends nothing
            if "end_call" in self.tools:
                return self.call(self.tools["end_call"], {})
            return Decision("All right. Thank you for calling.")
        route = await self.route(f"{question} {text}")
        spec = self.tools.get(route.tool or offered or "")  # the answer's reasons may blur what was asked
        named = (await self.route(text)).tool if yes and spec is not None else None
        if named and spec is not None and named != spec.name and self.convo.succeeded(named):
            return Decision(f"{ALREADY_DONE} {question}")  # "yes, lock it" to "a replacement?"
        if spec is not None and spec.handoff is None:
            takes_answer = any(
                unwrap(properties(spec).get(n, {})).get("type") == "boolean" for n in required(spec)
            )
            if takes_answer or yes:
                return self.start(spec, text)
        if yes:
            return Decision("Sure. What would you like to do?")
        if (queued := self.next_request()) is not None:
            return Decision(f"Okay. {queued.text}".strip(), queued.calls)  # no to the offer; on to what waits
        return Decision(f"Okay. {ANYTHING_ELSE}")

    # --- from intent to call -------------------------------------------------------------------------------
    def start(self, spec: ToolSpec, text: str, context: str = "") -> Decision:
        """A new request for `spec`: take what the utterance says (and what its `context`, the whole utterance a
        clause came from, adds), what the caller said before, and ids from earlier results. Ending or
        transferring the call needs the caller's own words for it."""
        if spec.name == "end_call" and not says_goodbye(text):
            return self.on_unrouted(text) or self.not_understood()  # nearest to a goodbye is not a goodbye
        if spec.name == "transfer_to_human" and not asks_for_person(text):
            self.state.confirm = {"tool": spec.name, "args": {"reason": sentence(text) or "caller request"}}
            return Decision(CONFIRM_PERSON)
        if refuses(spec, text):  # "no replacement needed": a refusal never leads to the action it refuses
            self.state.pending = None
            if says_goodbye(text) and "end_call" in self.tools:
                return self.call(self.tools["end_call"], {})
            return Decision(f"Okay. {ANYTHING_ELSE}")
        self.state.pending = None
        text = self.focus_on_item(spec, text)  # "X isn't mine. Y is": the clause about the item asked about
        args = extract_arguments(spec.parameters, text, today=self.today)
        if context:
            around = extract_arguments(spec.parameters, context, today=self.today)
            args.update({k: v for k, v in around.items() if k not in args})
        for name in properties(spec):
            if name in CARRY_PARAMS and name not in args and name in self.known:
                args[name] = self.known[name]
            elif name in CARRY_PARAMS and name not in args:
                earlier = said_earlier(self.convo, name, properties(spec)[name], today=self.today)
                if earlier is not None:
                    args[name] = earlier
        args.update(
            story_told_before(self.convo, text, properties(spec), today=self.today)
        )  # "file a claim for it": as told
        if creates_record(spec) and self.convo.handovers:
            # The loss that brought the call here ("water's coming up through the drain", told to another team)
            told = story_handed_over(self.convo.handovers[-1].asked_by, properties(spec))
            args.update({k: v for k, v in told.items() if k not in args})
        if points_back(text):
            for name, prop in properties(spec).items():
                if name not in args and param_kind(name, prop) == "enum":
                    referred = referred_value(self.convo, prop)
                    if referred is not None:
                        args[name] = referred
        for name in required(spec):
            if name not in args and param_kind(name, properties(spec)[name]) == "reference":
                value = self.convo.reference(name, consumer=spec.name)
                if value is not None:
                    args[name] = value
        return self.advance(spec, self.each_value(spec, args, text))

    def advance(self, spec: ToolSpec, args: dict[str, Any]) -> Decision:
        """Ask for the next missing slot, confirm, or call."""
        missing = missing_slots(spec, args)
        group = [] if missing else either_group(spec, args)
        for name in missing:
            if param_kind(name, properties(spec)[name]) == "reference":
                producer = self._producer(spec, name)
                if producer is not None:  # e.g. confirm_transaction before anything was listed
                    return self.call(producer, {})
        if missing or group:
            for param, lookup in LOOKUP_FIRST.items():
                if (
                    param in args
                    and lookup in self.tools
                    and lookup != spec.name
                    and not self.convo.succeeded(lookup, **{param: args[param]})
                ):
                    slots = group or missing[:1]
                    self.state.pending = Pending(spec.name, args, slots, slot_question(spec, slots[0]))
                    return self.call(self.tools[lookup], {param: args[param]}, keep_pending=True)
            if (verifying := self._verify_first(spec, args)) is not None:
                return verifying
            slots = group or missing[:1]
            question = slot_question(spec, slots[0])
            self.state.pending = Pending(spec.name, args, slots, question)
            return Decision(question)
        for param, lookup in LOOKUP_FIRST.items() if creates_record(spec) else ():
            if (
                param in args
                and lookup in self.tools
                and lookup != spec.name
                and not self.convo.succeeded(lookup, **{param: args[param]})
            ):
                # Everything is there at once: still confirm the number first (the caller hears whose policy
                # it is before anything is filed on it), then go on.
                self.state.pending = Pending(spec.name, args, [], "")
                return self.call(self.tools[lookup], {param: args[param]}, keep_pending=True)
        if needs_confirmation(spec):
            verifier = self.tools.get("verify_identity")
            if verifier is not None and verifier is not spec and not self.convo.succeeded(verifier.name):
                # Never offer to move money for a caller who is not verified: verify, then confirm.
                self.state.deferred = {"tool": spec.name, "args": args, "confirm": True}
                return self.start(verifier, self.convo.latest_user or "")
            self.state.confirm = {"tool": spec.name, "args": args}
            return Decision(confirmation_question(spec, args))
        return self.call(spec, args)

    def _verify_first(self, spec: ToolSpec, args: dict[str, Any]) -> Decision | None:
        """The caller said who they are in the breath that asked for something still missing details ("Priya
        Shah, savings, ending in five five three zero, ..."): verify them now, then ask, as a person would,
        instead of asking first and losing the identity to the next answer."""
        verifier = self.tools.get("verify_identity")
        said = self.convo.latest_user or ""
        if verifier is None or verifier is spec or spec.handoff is not None or spec.name in CALL_CONTROL:
            return None
        if not said or self.convo.succeeded(verifier.name):
            return None
        who = extract_arguments(verifier.parameters, said, today=self.today)
        if missing_slots(verifier, who) or either_group(verifier, who):
            return None
        if any(o.name == verifier.name and o.args == who for o in self.convo.outcomes):
            return None  # tried with these details already: its failure was answered
        self.state.deferred = {"tool": spec.name, "args": args, "ask": True}
        return self.call(verifier, who)

    def _take_canonical(self, outcome: ToolOutcome) -> None:
        """A lookup that found the record the caller read ("two one five five six six") returns its number in
        full ("RE-215566"): the request waiting on it goes on with that form, as a person would write it."""
        pending = self.state.pending
        if pending is None:
            return
        for param, lookup in LOOKUP_FIRST.items():
            said, found = pending.args.get(param), outcome.output.get(param)
            if outcome.name == lookup and said is not None and said == outcome.args.get(param) and found:
                pending.args = {**pending.args, param: found}

    def _producer(self, spec: ToolSpec, name: str) -> ToolSpec | None:
        """The tool the parameter's description says its value comes from ("from list_flagged_transactions")."""
        description = str(unwrap(properties(spec)[name]).get("description", ""))
        return next((t for n, t in self.tools.items() if n != spec.name and n in description), None)

    def call(self, spec: ToolSpec, args: dict[str, Any], *, keep_pending: bool = False) -> Decision:
        if not keep_pending:
            self.state.pending = None
        return Decision(calls=[(spec.name, args)])

    # --- tool results came back ----------------------------------------------------------------------------
    def after_tools(self, outcomes: Sequence[ToolOutcome]) -> Decision:
        texts: list[str] = []
        calls: list[tuple[str, dict[str, Any]]] = []
        asked = False
        for outcome in outcomes:
            spec = self.tools.get(outcome.name)
            if (spec is not None and spec.handoff is not None) or (
                spec is None and outcome.name.startswith("handoff")
            ):
                continue  # the cascade moves the call; the new agent greets
            if outcome.ok:
                reply = render_reply(spec, outcome.output, outcome.args)
                replaced = self.convo.succeeded(REPLACE)
                more = offer_after(outcome.output, can_replace=REPLACE in self.tools and not replaced)
                texts.append(f"{reply} {more}" if more else reply)
                if self.state.held is not None and (held := self.answer_held(outcome, texts[-1])):
                    calls.extend(held.calls)  # the next item was answered in the same breath
                for source in (outcome.args, outcome.output):  # the tool's canonical form wins
                    self.state.known.update({k: v for k, v in source.items() if k in CARRY_PARAMS and v})
                self._take_canonical(outcome)
                deferred = self.state.deferred
                if outcome.name == "verify_identity" and deferred and deferred.get("tool") in self.tools:
                    self.state.deferred = None
                    waiting = self.tools[str(deferred["tool"])]
                    args = dict(deferred.get("args") or {})
                    if deferred.get("confirm"):
                        self.state.confirm = {"tool": waiting.name, "args": args}
                        texts.append(confirmation_question(waiting, args))
                        asked = True
                    elif deferred.get("ask"):  # the request the caller was in the middle of
                        resumed = self.advance(waiting, args)
                        texts.append(resumed.text)
                        calls.extend(resumed.calls)
                        asked = bool(resumed.text)
                    else:
                        calls.append((waiting.name, args))
                continue
            message = outcome.error_message or "Sorry, that didn't work."
            recovery = self.recover(spec, outcome, message)
            if isinstance(recovery, Decision) and recovery.calls:
                calls.extend(recovery.calls)  # e.g. verify with the details the caller already gave
                continue
            texts.append(message)
            asked = bool(recovery) or asked
        pending = self.state.pending
        if pending is not None and not asked and not calls:
            if pending.slots:
                texts.append(pending.question)
            elif pending.tool in self.tools:  # only waiting for the lookup: it went through, so carry on
                self.state.pending = None
                then = self.advance(self.tools[pending.tool], pending.args)
                return Decision(" ".join(t for t in [*texts, then.text] if t), then.calls)
        handed = any(
            (self.tools.get(o.name) is not None and self.tools[o.name].handoff is not None)
            or o.name.startswith("handoff")
            for o in outcomes
        )
        asks = bool(texts) and texts[-1].rstrip().endswith(
            "?"
        )  # a reply that asks ("did you make it?") waits
        if (
            not calls
            and not asked
            and not asks
            and not handed
            and (queued := self.next_request()) is not None
        ):
            return Decision(" ".join(t for t in [*texts, queued.text] if t), queued.calls)
        return Decision(" ".join(t for t in texts if t), calls)
