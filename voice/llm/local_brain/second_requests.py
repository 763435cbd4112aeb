"""Two requests in one breath: "what's my balance, and can you also read me the last couple of charges?",
"did my claim get paid, and what's my deductible?". The utterance is cut into its clauses; when two clauses
route clearly to two different tools of this agent, the one the whole utterance did not pick waits in the
dialog state and is taken up as soon as the first is done (answered, with no question left open). A base of
`Turn` (`turn.py`), which provides the routing, `start` and `advance`."""

from __future__ import annotations

import re
from typing import Any

from registries.toolstore.decorator import ToolSpec
from voice.llm.local_brain.decision import Decision
from voice.llm.local_brain.enums import values_named_together
from voice.llm.local_brain.params import unwrap
from voice.llm.local_brain.router import SWITCH_THRESHOLD, Route
from voice.llm.local_brain.slots import CALL_CONTROL, LOOKUP_FIRST, properties, reads_only
from voice.llm.local_brain.spoken import NUMBER_WORDS, tokens
from voice.llm.local_brain.state import DialogState
from voice.llm.local_brain.yes_no import parse_yes_no

MAX_QUEUED = 2
CLAUSE_MARGIN = 0.1
"""A clause is a second request only when it is clearly closer to its own tool than to the one chosen."""
_CLAUSE_BREAK = re.compile(
    r"[?.!;]\s+(?:and\s+|also\s+|plus\s+)?|,?\s+(?:and|plus)\s+(?:then\s+)?(?:also\s+)?"
    r"(?=(?:can|could|would|will|what|what's|how|when|did|does|do|is|are|am|i'd|"
    r"i (?:also |really |still |just )?(?:want|need)|please|tell|"
    r"read|give|check|also)\b)",
    re.IGNORECASE,
)
"""Where a second request starts: a new sentence, or "and" before a new question or ask ("and I also need ...")."""
_CONTENT = re.compile(r"[a-z]{3,}")
_ASKS = re.compile(
    r"\?\s*$|^(?:\W*(?:so|and|also|plus|um|uh|okay|ok|oh|well|hi|hey|first)\W+)*"
    r"(?:how|what|what's|which|when|where|who|does|do|did|is|are|can|could|would|will|please|tell|read|give|"
    r"check|i(?:'d| would) like|i want|i need)\b|\bplease\b",
    re.IGNORECASE,
)
"""A clause that asks or requests (not a statement: "my backpack got stolen" tells what a question is about)."""
_MUSING = re.compile(
    r"^(?:\W*(?:so|and|well|um|uh|okay|ok|hello|hi)\W+)*i(?:'m| am| was) (?:just )?(?:trying to (?:figure out|decide|"
    r"work out|understand)|wondering whether|not sure (?:if|whether)|thinking about whether)\b",
    re.IGNORECASE,
)
"""A clause that weighs a request out loud ("I'm trying to figure out if it's worth making a claim"): no request
of its own, the question that follows is."""
MIN_CLAUSE_WORDS = 2
_READ_OUT_FILLER = frozenset({"and", "oh", "uh", "um", "is", "it's", "its", "that's", "the", "rest", "then"})


def reads_out_only(part: str) -> bool:
    """A clause that only reads out digits or letters ("two nine one three", "h o seven"): the rest of a number
    said before it, never a request of its own."""
    words = [t for t in tokens(part) if any(c.isalnum() for c in t)]
    spelled = [t for t in words if t in NUMBER_WORDS or t.isdigit() or (len(t) == 1 and t.isalpha())]
    return bool(spelled) and all(t in spelled or t in _READ_OUT_FILLER for t in words)


_NOT_QUEUED = frozenset({*CALL_CONTROL, "verify_identity", *LOOKUP_FIRST.values()})
"""Never a second request: call control, and the lookups a request makes on its own way ("policy H O ...")."""


_POINTS_BACK = re.compile(r"\b(?:it|that|this)\b", re.I)


def with_referents(parts: list[str]) -> list[str]:
    """ "I backed into a pole and dented the bumper. Can you file it, and then ...": an ask that points back
    ("file it") is about the statement before it, so it is read with it."""
    out = list(parts)
    for i in range(1, len(parts)):
        if _ASKS.search(parts[i]) and _POINTS_BACK.search(parts[i]) and not _ASKS.search(parts[i - 1]):
            out[i] = f"{parts[i]}: {parts[i - 1]}"  # the ask first: it still reads as one
    return out


def clauses(text: str) -> list[str]:
    """The utterance's clauses with enough words to ask for something on their own."""
    parts = [p.strip(" ,") for p in _CLAUSE_BREAK.split(text)]
    return [p for p in parts if len(_CONTENT.findall(p.lower())) >= MIN_CLAUSE_WORDS]


class SecondRequests:
    tools: dict[str, ToolSpec]
    state: DialogState

    async def route(self, text: str) -> Route:
        raise NotImplementedError

    def start(self, spec: ToolSpec, text: str, context: str = "") -> Decision:
        raise NotImplementedError

    def advance(self, spec: ToolSpec, args: dict[str, Any]) -> Decision:
        raise NotImplementedError

    async def keep_second_request(
        self, text: str, chosen: str, *, handoffs: bool = True
    ) -> tuple[str, str] | None:
        """Queue what a clause of `text` asks of another of this agent's own tools than `chosen` (or, with
        `handoffs`, of another team, handed over last). When that clause came first, it goes first: returns (its
        tool, its clause) to start now, `chosen` waiting. A request just handed here queues no handoff: its other
        clauses are what the agent that handed it over did or will do."""
        parts = clauses(text)
        if len(parts) < 2:
            return None
        routes = [await self.route(part) for part in parts]
        mine = max(range(len(parts)), key=lambda i: routes[i].scores.get(chosen, -1.0))
        declined = parse_yes_no(parts[mine]) is False  # "no replacement card for me. but ...": not that one
        first: tuple[str, str] | None = None
        for index, (part, route) in enumerate(zip(parts, routes, strict=True)):
            name = route.tool
            if (
                name is None
                or parse_yes_no(part) is False  # "no new card for now" declines; it asks for nothing
                or reads_out_only(part)
                or name == chosen
                or name in _NOT_QUEUED
                or (self.tools[name].handoff is not None and not handoffs)
                or (
                    route.score < SWITCH_THRESHOLD and not declined
                )  # said instead of a no: a plain match does
                or route.scores.get(chosen, -1.0) > route.score - CLAUSE_MARGIN  # the same request, reworded
                or any(q.get("tool") == name for q in self.state.queued)
                or (not declined and _MUSING.search(part) is not None)  # weighed out loud, not asked
            ):
                continue
            if self.tools[name].handoff is not None and not (declined and first is None):
                # Another team's: handed over once this agent's part is done.
                handoff = {"tool": name, "text": part, "context": "", "args": {}}
                self.state.queued = [*self.state.queued, handoff]
                continue
            if declined and first is None:
                first = (name, part)  # what they do want, instead of what they said no to
            elif index < mine and first is None:
                first = (name, part)  # asked before the chosen one: answer in the caller's order
                queued = {"tool": chosen, "text": parts[mine], "context": text, "args": {}}
                self.state.queued = [queued, *self.state.queued]
            else:  # its own clause, and the rest for what it leaves out ("the last charges on it")
                queued = {"tool": name, "text": part, "context": text, "args": {}}
                self.state.queued = [*self.state.queued, queued]
        handoffs_last = sorted(
            self.state.queued, key=lambda q: self._hands_off(q)
        )  # stable: the rest in order
        self.state.queued = handoffs_last[:MAX_QUEUED]
        return first

    async def own_part_first(self, text: str, handoff: str) -> tuple[str, str] | None:
        """ "What's in checking? Also my wallet was stolen": routed to another team as a whole, but a clause of
        it asks for one of this agent's own tools. That part is answered here first (the other team cannot), and
        the handoff waits in the queue with its own clause. Returns (the own tool, its clause)."""
        parts = with_referents(clauses(text))
        if len(parts) < 2:
            return None
        routes = [await self.route(part) for part in parts]
        theirs = max(range(len(parts)), key=lambda i: routes[i].scores.get(handoff, -1.0))
        for index, (part, route) in enumerate(zip(parts, routes, strict=True)):
            name = route.tool
            if (
                index == theirs
                or name is None
                or name in _NOT_QUEUED
                or self.tools[name].handoff is not None
                or route.score < SWITCH_THRESHOLD
                or route.scores.get(handoff, -1.0) > route.score - CLAUSE_MARGIN
                or parse_yes_no(part) is False
                or not _ASKS.search(part)
            ):
                continue
            waiting = {"tool": handoff, "text": parts[theirs], "context": "", "args": {}}
            self.state.queued = [*self.state.queued, waiting][:MAX_QUEUED]
            return name, part
        return None

    def _hands_off(self, queued: dict[str, Any]) -> bool:
        spec = self.tools.get(str(queued.get("tool")))
        return spec is not None and spec.handoff is not None

    def each_value(self, spec: ToolSpec, args: dict[str, Any], text: str) -> dict[str, Any]:
        """ "What's in checking and what's in savings?": a tool that only reads, asked about two values of one
        choice in one breath, answers the first named now and the others next (queued with the same details)."""
        if not text or not reads_only(spec) or spec.handoff is not None:
            return args
        for name, prop in properties(spec).items():
            values = [str(v) for v in unwrap(prop).get("enum", ())]
            named = values_named_together(text, values) if len(values) >= 2 else []
            if not named:
                continue
            for other in named[1:]:
                queued = {"tool": spec.name, "text": "", "args": {**args, name: other}}
                if queued not in self.state.queued:
                    self.state.queued = [*self.state.queued, queued][:MAX_QUEUED]
            return {**args, name: named[0]}
        return args

    def requeue(self, tool: str, args: dict[str, Any], text: str) -> None:
        """The caller answered a queued request first: what they were asked before waits its turn instead."""
        self.state.queued = [q for q in self.state.queued if q.get("tool") != tool]
        self.state.queued = [*self.state.queued, {"tool": tool, "text": text, "args": args}][-MAX_QUEUED:]

    def unqueue(self, tool: str) -> bool:
        """Drop `tool` from the queue (the caller asked for it now); True if it was there."""
        before = len(self.state.queued)
        self.state.queued = [q for q in self.state.queued if q.get("tool") != tool]
        return len(self.state.queued) != before

    def next_request(self) -> Decision | None:
        """The first queued request, started, when nothing else is open."""
        if (
            self.state.pending is not None
            or self.state.confirm is not None
            or self.state.deferred is not None
        ):
            return None
        while self.state.queued:
            first, *self.state.queued = self.state.queued
            spec = self.tools.get(str(first.get("tool")))
            if spec is None:
                continue
            args = dict(first.get("args") or {})
            if args:
                return self.advance(spec, args)
            return self.start(spec, str(first.get("text") or ""), str(first.get("context") or ""))
        return None
