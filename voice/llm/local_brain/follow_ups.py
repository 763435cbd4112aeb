"""Answers that lean on what came just before: "No, hold off on a new card for now" (a longer "no" to the offer
the agent made), "Yes, a replacement would be great, and fast please" (a longer yes), and "I meant savings, not
checking" (the last request again with one value changed), "okay, then just do three hundred instead" after a
request failed (the failed request again with the new value). A base of `Turn` (`turn.py`), which provides the
routing, the short-answer handling and `call`."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from registries.toolstore.decorator import ToolSpec
from voice.llm.local_brain.dates import takes_back_a_date
from voice.llm.local_brain.decision import Decision
from voice.llm.local_brain.dialog import DialogReading, ToolOutcome
from voice.llm.local_brain.digit_fixes import corrected_number, tail_correction
from voice.llm.local_brain.enums import match_enum
from voice.llm.local_brain.extract import extract_arguments
from voice.llm.local_brain.params import param_kind, unwrap
from voice.llm.local_brain.router import SWITCH_THRESHOLD, Route
from voice.llm.local_brain.second_requests import MAX_QUEUED
from voice.llm.local_brain.slots import (
    ANYTHING_ELSE,
    NOT_OFFERED,
    amends_a_record,
    creates_record,
    properties,
    reads_only,
    required,
)
from voice.llm.local_brain.spoken import normalize
from voice.llm.local_brain.state import DialogState
from voice.llm.local_brain.yes_no import BOOL_CUES, beyond_yes, parse_flag

_LEADING_ANSWER = re.compile(
    r"(?:^|(?<=[.?!,]) )(?:(?:oh|well|um|uh|okay|ok|actually|hmm),? )*"
    r"(?P<answer>yes|yeah|yep|sure|please|no|nope|nah|not (?:yet|now|today|right now)|"
    r"(?:(?:definitely|absolutely|certainly|of course|obviously|surely) )?not (?:me|mine|us|ours)|"
    r"(?:definitely|absolutely|certainly|of course|obviously) not|"
    r"(?:that|it)(?:'s| is| was)(?: not|n't)? (?:me|mine|us|ours)|(?:that|it) (?:wasn't|isn't) (?:me|mine|us|ours))\b"
)
"""A yes or no that opens the answer or one of its sentences ("the gas station one? oh, actually yeah, ..."),
also said as who it was ("not me, I was at work", "that was us") or stressed ("absolutely not, ...")."""
_YES_WORDS = frozenset({"yes", "yeah", "yep", "sure", "please"})
_OPEN_QUESTION = re.compile(
    r"\b(?:anything else|what else|how (?:can|may) i help|what can i (?:do|help)|something else)\b",
    re.IGNORECASE,
)
_IS_THAT_ALL = re.compile(
    r"^(?:(?:so|and|oh|really|wait|hmm|okay|ok),? )*(?:that's (?:all|it|everything)|is that (?:all|it|everything)|"
    r"(?:there's |there is )?nothing else)\b(?:[\s,.?!]+(?:there's |there is |so )?(?:nothing|no) (?:else|other|more)"
    r"\b.*)?[\s?]*$"
)
"""After an answer: "that's it? nothing else came in?" asks whether the answer was complete."""
_DID_IT_GO_THROUGH = re.compile(
    r"^(?:(?:so|and|oh|okay|ok|great|alright|right|um|uh),? )*(?:did (?:it|that|the \w+) (?:go through|work|get "
    r"(?:filed|done|sent|through|locked|ordered))|(?:is|was) (?:it|that) (?:done|filed|through|sorted|locked|"
    r"ordered|sent|all set|gone through)|(?:it's|it is|that's|that is) (?:done|filed|through|sorted|all set|gone "
    r"through)|(?:are we|am i|we're|i'm) (?:done|all set|set)|(?:is )?that it|all (?:done|set))"
    r"\b[\s?!.]*$"
)
"""Right after something was done: "did it go through? is that it?" asks whether it is done."""
_THANKING = re.compile(r"\b(?:thanks|thank you)\b(?! god| goodness| heavens)")
_ABOUT_THE_ANSWER = re.compile(
    r"^(?:(?:and|so|sorry|wait|okay|ok),? )*(?:(?:how much|when|what day|what date|where|who|which one|what)"
    r"(?: was| is| did)? (?:it|that|this|the amount|they)\b[\w\s']{0,20}|"
    r"what(?:'s| is)? (?:happening|going to happen|happens|comes) next|what are the next steps|what now|"
    r"what(?:'s| is) the next step|what do i do now|how (?:did|do|will|was|were) (?:they|you|it|that)\b[\w\s']{0,25})"
    r"[\s,]*(?:please)?[\s?]*$"
)
"""A short question about what the agent just said ("how much was it?"): answered by saying it again."""
ALREADY_DONE = "That's already done."
REQUEST_SCORE = 0.5
"""How sure the route of a polite request's words must be: "savings balance" 0.89, "checking" 0.51; "thing",
"sir" route nowhere."""
"""Said when a yes to an offer names an action this call already carried out."""
_SENTENCE = re.compile(r"(?<=[.?!])\s+")
_CORRECTION = re.compile(r"\b(?:i meant|i mean|meant|not|actually|instead|rather|sorry)\b")
_SAME_FOR = re.compile(
    r"^(?:(?:okay|ok|alright|all right|great|cool|thanks|and|so),? )*(?:and|what about|how about|same for|and for)"
    r"(?: (?:the|my|on|on my|in|in my))? \w+(?: account| one)?[\s?.!]*$"
)
"""Right after an answer, "and savings?", "okay and how about savings": the same request for another value."""
_RETRY = re.compile(
    r"\b(?:instead|then (?:just )?(?:do|make it|try)|make it|how about|let's (?:do|try)|try)\b"
)
"""After a request failed: the caller asks for it again with a changed value ("then just do two hundred")."""


def _says_how(spec: ToolSpec, norm: str) -> bool:
    """Whether the answer gives one of the offered tool's flags by its own cue words ("regular mail")."""
    return any(
        name in BOOL_CUES and parse_flag(name, norm, asked=False) is not None
        for name, prop in properties(spec).items()
        if param_kind(name, prop) == "bool"
    )


class FollowUps:
    tools: dict[str, ToolSpec]
    convo: DialogReading
    state: DialogState
    today: date

    def next_request(self) -> Decision | None:
        raise NotImplementedError

    def advance(self, spec: ToolSpec, args: dict[str, Any]) -> Decision:
        raise NotImplementedError

    async def route(self, text: str) -> Route:
        raise NotImplementedError

    async def on_short_answer(self, text: str, yes: bool, offered: str | None = None) -> Decision:
        raise NotImplementedError

    async def request_said_politely(self, short: str, yes: bool) -> bool:
        """A request with a "please" or an "okay" in it ("savings balance please") after an open question: its
        words name what the caller wants, so it is routed, not taken for a bare yes."""
        question = self.convo.last_question
        if not yes or not (question is None or _OPEN_QUESTION.search(question)):
            return False
        rest = beyond_yes(short)
        if not rest:
            return False
        route = await self.route(rest)
        return route.tool not in (None, "end_call", "transfer_to_human") and route.score >= REQUEST_SCORE

    def call(self, spec: ToolSpec, args: dict[str, Any], *, keep_pending: bool = False) -> Decision:
        raise NotImplementedError

    async def on_answer_to_offer(self, text: str, yes: bool) -> Decision | None:
        """A yes or no that goes on ("no, hold off on a new card for now"): an answer to the agent's offer when
        the rest is about what was offered (or nothing routable), not a new request."""
        question = self.convo.last_question
        norm = normalize(text)
        if question is None or _OPEN_QUESTION.search(question) or not _LEADING_ANSWER.search(norm):
            return None
        offered = await self.route(question)
        if offered.tool is None:
            return None
        remainder = _LEADING_ANSWER.sub("", norm, count=1).strip(" ,.")
        if (then := await self.answer_then_request(remainder, offered.tool)) is not None:
            remainder = _SENTENCE.split(remainder)[0]
            text = _SENTENCE.split(text.strip())[0]  # the answer alone; the request after it is queued
            norm = normalize(text)
            opening = _LEADING_ANSWER.search(norm)  # the answer's own opening word decides: a later "I didn't
            yes = opening is not None and opening.group("answer") in _YES_WORDS  # make it" is no "no" to it
        rest = await self.route(remainder)
        if rest.tool not in (None, offered.tool) and rest.score >= SWITCH_THRESHOLD:
            if yes and self.convo.succeeded(rest.tool):
                return Decision(f"{ALREADY_DONE} {question}")  # "yes, lock it" when it is locked already
            return None  # "no, but what's my balance?": a new request
        for later in _SENTENCE.split(remainder)[1:]:  # "no card yet, it's around here. what about savings?"
            asked = await self.route(later)
            if asked.tool not in (None, offered.tool) and asked.score >= SWITCH_THRESHOLD:
                return None  # a sentence of its own that asks for something else: a new request
        spec = self.tools.get(offered.tool)
        if not yes and not then and spec is not None and _says_how(spec, norm):
            yes = True  # "no, no rush at all, regular mail is fine": how they want it is a yes to it
        answered = await self.on_short_answer(text, yes, offered.tool)  # "no, not me either, I was asleep"
        if then is not None and not answered.calls and (queued := self.next_request()) is not None:
            # "no new card yet. but a charge ...": nothing to do for the no, so the request after it now
            return Decision(" ".join(t for t in ("Okay.", queued.text) if t), queued.calls)
        return answered

    async def answer_then_request(self, remainder: str, offered: str) -> bool | None:
        """ "Yes, standard shipping is fine. Oh, and there's a charge I didn't make": the answer to the offer
        comes first, in a sentence of its own, and a later sentence asks for something else. That request is
        queued (it is taken up once the answer is done) instead of swallowing the answer. True when it is so
        (the answer is then taken as said: a "not right now" stays a no), None when the line is not that."""
        sentences = _SENTENCE.split(remainder)
        if len(sentences) < 2:
            return None
        first = await self.route(sentences[0]) if sentences[0].strip(" ,.") else None
        if first is not None and first.tool not in (None, offered) and first.score >= SWITCH_THRESHOLD:
            return None  # the answer's own sentence already asks for something else
        for index, later in enumerate(sentences[1:], start=1):
            asked = await self.route(later)
            if asked.tool in (None, offered, "end_call") or asked.score < SWITCH_THRESHOLD:
                continue
            request = " ".join(sentences[index:])
            queued = {"tool": asked.tool, "text": request, "context": "", "args": {}}
            self.state.queued = [q for q in self.state.queued if q.get("tool") != asked.tool]
            self.state.queued = [*self.state.queued, queued][:MAX_QUEUED]
            return True
        return None

    def _last_request_run(self) -> ToolOutcome | None:
        """The newest request of the caller's that ran (not a handoff, identity check or call control)."""
        return next(
            (
                o
                for o in reversed(self.convo.outcomes)
                if o.ok
                and o.name in self.tools
                and self.tools[o.name].handoff is None
                and o.name not in NOT_OFFERED
            ),
            None,
        )

    def on_correction(self, text: str) -> Decision | None:
        """ "I meant savings, not checking": the last request again, with the value the caller meant."""
        if (redated := self.on_date_taken_back(text)) is not None:
            return redated
        norm = normalize(text)
        same_for = _SAME_FOR.match(norm.strip()) is not None
        if not _CORRECTION.search(norm) and not same_for:
            return None
        last = self._last_request_run()
        if last is None:
            return None
        spec = self.tools[last.name]
        changes: dict[str, Any] = {}
        enums = {n: p for n, p in properties(spec).items() if param_kind(n, p) == "enum"}
        if (
            same_for
            and sum(1 for p in enums.values() if match_enum(norm, [str(v) for v in unwrap(p)["enum"]])) > 1
        ):
            return None  # "and savings?" after a transfer: which side is not said
        for name, prop in enums.items():
            named = [str(v) for v in unwrap(prop)["enum"] if v != "other" and match_enum(norm, [str(v)])]
            wanted = [
                v for v in named if not re.search(rf"\bnot (?:the |my |on |on my |in |in my )?{v}\b", norm)
            ]
            if len(wanted) == 1 and wanted[0] != last.args.get(name) and len(named) <= 2:
                changes[name] = wanted[0]
        if not changes:
            return None
        return self.call(spec, {**last.args, **changes})

    def on_digits_corrected(self, text: str) -> Decision | None:
        """ "Sorry, it ends in two, not three" after a number was used (found or not): the request that used it
        again, with the number's end put right."""
        if tail_correction(text) is None:
            return None
        for outcome in reversed(self.convo.outcomes):
            spec = self.tools.get(outcome.name)
            if spec is None or spec.handoff is not None:
                continue
            numbers = {
                name: value
                for name, value in outcome.args.items()
                if name in properties(spec)
                and param_kind(name, properties(spec)[name]) in ("identifier", "last4")
                and isinstance(value, str)
            }
            if not numbers:
                continue
            changes = {
                name: fixed
                for name, value in numbers.items()
                if (fixed := corrected_number(value, text)) is not None
            }
            said = extract_arguments(spec.parameters, text, today=self.today)
            if not changes or any(name in said for name in changes):
                return None  # the whole number read again is an answer like any other
            pending = self.state.pending
            if pending is not None and pending.tool != spec.name:
                # The look-up a request waits on ("what's your policy number?"): again, the request still waiting.
                pending.args.update({k: v for k, v in changes.items() if k in pending.args})
                return self.call(spec, {**outcome.args, **changes}, keep_pending=True)
            self.state.pending = None
            return self.advance(spec, {**outcome.args, **changes})
        return None

    def on_date_taken_back(self, text: str) -> Decision | None:
        """ "Oh, and it was tuesday, not wednesday" right after a request ran with that day (a claim filed on it):
        the request again with the day the caller meant, the rest as it was."""
        if not takes_back_a_date(text, today=self.today):
            return None
        last = self._last_request_run()
        if last is None:
            return None
        spec = self.tools[last.name]
        said = extract_arguments(spec.parameters, text, today=self.today)
        changes = {
            name: value
            for name, value in said.items()
            if param_kind(name, properties(spec)[name]) == "date"
            and name in last.args
            and str(last.args[name]) != str(value)
        }
        if not changes:
            return None
        if (amend := self._amends(spec, last.output, changes)) is not None:
            return self.call(*amend)  # the record filed is put right, not filed a second time
        return self.call(spec, {**last.args, **changes})

    def _amends(
        self, spec: ToolSpec, result: dict[str, Any], changes: dict[str, Any]
    ) -> tuple[ToolSpec, dict[str, Any]] | None:
        """For a tool that filed a record (a claim): a tool of this agent that corrects one ("correct_claim"),
        takes the corrected values and finds the record by a reference the filing returned (its number)."""
        if not creates_record(spec):
            return None
        for name, tool in self.tools.items():
            if name == spec.name or not amends_a_record(tool):
                continue
            params = properties(tool)
            refs = [p for p in required(tool) if p in result and p not in changes]
            if refs and all(c in params for c in changes):
                return tool, {**{r: result[r] for r in refs}, **changes}
        return None

    def on_retry(self, text: str) -> Decision | None:
        """ "Okay, then just do three hundred instead" right after a request failed ("there isn't enough money"):
        the failed request again with what the caller changed, asked or confirmed as any request is."""
        last = self.convo.outcomes[-1] if self.convo.outcomes else None
        if last is None or last.ok or last.name not in self.tools or not _RETRY.search(normalize(text)):
            return None
        spec = self.tools[last.name]
        if spec.handoff is not None:
            return None
        said = extract_arguments(spec.parameters, text, today=self.today)
        changes = {k: v for k, v in said.items() if k in last.args and last.args[k] != v}
        if not changes:
            return None
        return self.advance(spec, {**last.args, **changes})

    def on_is_that_all(self, text: str) -> Decision | None:
        """ "That's it? Nothing else came in?" right after an answer: it was the whole answer, and the caller
        may ask for more (not a goodbye, not a new request)."""
        last = self.convo.outcomes[-1] if self.convo.outcomes else None
        if last is None or not last.ok or "?" not in text:
            return None
        spec = self.tools.get(last.name)
        done = spec is not None and spec.handoff is None and not reads_only(spec)
        sentences = [p for p in re.split(r"(?<=[?.!])\s+", normalize(text).strip()) if p]
        if done and self.state.pending is None and all(_DID_IT_GO_THROUGH.match(p) for p in sentences):
            return Decision(f"Yes, it went through. {ANYTHING_ELSE}")  # "did it go through? is that it?"
        if not _IS_THAT_ALL.match(normalize(text)):
            return None
        return Decision("Yes, that's everything I found. Is there anything else I can help you with?")

    def on_unrouted(self, text: str) -> Decision | None:
        """Words that name no request: a remark closed with thanks ("okay, payday is Friday. thanks") is
        thanked back; a short question about the agent's last answer ("how much was it?") hears it again."""
        norm = normalize(text).strip()
        if _THANKING.search(norm):
            return Decision(f"You're welcome. {ANYTHING_ELSE}")
        answered = self.convo.outcomes[-1].ok if self.convo.outcomes else False
        if answered and self.convo.last_spoken and _ABOUT_THE_ANSWER.match(norm):
            said = [s for s in _SENTENCE.split(self.convo.last_spoken) if s and not s.rstrip().endswith("?")]
            if said:
                return Decision(said[-1])  # the answer's last statement: the detail, not the greeting
        return None
