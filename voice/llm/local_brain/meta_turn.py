"""The part of a local-brain turn that handles talk about the conversation itself ("hold on", "say that
again", "what can you do?", "bye", "a person please") and takes up a request across a handoff. A base of `Turn`
(`turn.py`), which provides the routing and slot-filling steps these rely on."""

from __future__ import annotations

import re
from typing import Any

from registries.toolstore.decorator import ToolSpec
from voice.llm.local_brain.decision import Decision
from voice.llm.local_brain.dialog import DialogReading, ToolOutcome
from voice.llm.local_brain.extract import sentence
from voice.llm.local_brain.identity_words import request_without_identity
from voice.llm.local_brain.meta import Meta, classify
from voice.llm.local_brain.params import unwrap
from voice.llm.local_brain.router import SWITCH_THRESHOLD, IntentRouter, Route
from voice.llm.local_brain.slots import CALL_CONTROL, LOOKUP_FIRST, needs_confirmation, offer, properties
from voice.llm.local_brain.spoken import NUMBER_WORDS, normalize, without_fillers
from voice.llm.local_brain.state import DialogState

HOLD_ON = "Sure, take your time."
# Words that ask for money to move: a verb for it or an amount; or an account the tool's own choices name, said
# as where the money goes from or to (`_moves_money`). A money movement is routed only with one of them (a
# strong, specific match): "Hi, I'd like my savings, Maryland" (a balance question the recogniser garbled)
# scored a transfer 0.631 and the balance 0.571.
_MOVES_MONEY = re.compile(
    r"\b(?:move|moving|moved|transfer\w*|put|putting|send|sending|shift\w*|take|taking|withdraw\w*|pay|paying"
    r"|deposit\w*|top(?:ping)? up|dollars?|bucks|hundred|thousand|grand)\b|\$\s?\d"
)


def _moves_money(spec: ToolSpec, norm: str) -> bool:
    if _MOVES_MONEY.search(norm):
        return True
    choices = {
        str(v).replace("_", " ") for prop in properties(spec).values() for v in unwrap(prop).get("enum", ())
    }
    if not choices:
        return False
    named = "|".join(re.escape(c) for c in sorted(choices))
    return re.search(rf"\b(?:from|(?:in)?to) (?:my |the )?(?:{named})\b", norm) is not None


_TAKEN_BACK = re.compile(
    r"\b(?:no,? actually|actually,? no|no,? wait|scratch that|never ?mind(?: that)?|forget (?:that|it)|"
    r"or rather|on second thought|i mean)\b[\s,.]*"
)
_CONTENT_WORD = re.compile(r"[a-z]{3,}")
_NOT_A_REQUEST = frozenset(
    {"sorry", "wait", "yeah", "yes", "okay", "the", "and", "that", "it's", "its", "was"}
)


def taken_back(text: str) -> str | None:
    """What follows the last taking-back in `text` ("... move some, no actually, just tell me what's in my
    savings" -> "just tell me what's in my savings"), when it says something of its own."""
    norm = normalize(text)
    cues = list(_TAKEN_BACK.finditer(norm))
    if not cues:
        return None
    tail = norm[cues[-1].end() :].strip(" ,.")
    words = [w for w in _CONTENT_WORD.findall(tail) if w not in NUMBER_WORDS and w not in _NOT_A_REQUEST]
    return (
        tail if len(words) >= 3 else None
    )  # "no wait, sorry, nine one three" corrects a detail, not the ask


MIN_STORY_WORDS = 8
_STORY_BREAK = re.compile(r"(?<=[.?!])\s+|,\s*(?=(?:and )?so\b|which is why\b|that's why\b)")
_ASKS = re.compile(
    r"\?|\b(?:want|wanted|need|needed|like|hoping|trying) to\b|\b(?:can|could|would) you\b|\bcan i\b|"
    r"\bi'd like\b|\bplease\b|^\s*(?:how|what|where|when|is|are|do|does|did)\b"
)


def story_tail(text: str) -> str | None:
    """The part of a long line that asks, after the story that leads up to it ("my grandson starts college
    and I promised to help, so I wanted to see what I've got put away" -> "so I wanted to see ..."): the
    last sentence or "so ..." clause that asks for something, when there is a story before it."""
    parts = [p.strip() for p in _STORY_BREAK.split(normalize(text)) if p.strip()]
    asking = [i for i, p in enumerate(parts) if i and _ASKS.search(p) and len(_CONTENT_WORD.findall(p)) >= 3]
    if not asking:
        return None
    story = " ".join(parts[: asking[-1]])
    # A story has things in it; "good morning." or "hi, it's me." before a request is no story.
    return parts[asking[-1]] if len(_CONTENT_WORD.findall(story)) >= MIN_STORY_WORDS else None


_LONG_NUMBER = re.compile(r"(?:\b(?:zero|oh|one|two|three|four|five|six|seven|eight|nine|\d+)\b\W*){3,}")
MAX_ADOPTED = 16


_ASKING_FOR = frozenset(
    """put me through to connect transfer talk speak with i need want would like i'd can could you please the a
    an some someone somebody department team desk people person about my over is there get go""".split()
)


def only_asks_for(request: str, agent: str) -> bool:
    """ "Can you put me through to card services": the request names the department and nothing to act on."""
    own = set(agent.replace("_", " ").split()) | {"service", "services"}
    words = [w for w in normalize(request).replace(",", " ").replace(".", " ").replace("?", " ").split()]
    return bool(words) and all(w in _ASKING_FOR or w in own or w.rstrip("s") in own for w in words)


_PLEASE = re.compile(r"\b(?:please|thanks|thank you)\b[,.!]?", re.IGNORECASE)


_NUMBER_CUE = re.compile(r"\b(?:(?:my|the|our) )?(?:policy|claim)(?: number)?(?: is| it's)?\b")


def without_read_out(text: str) -> str:
    """The words around a number or code read out, without it or its cue ("my policy is"); "" when nothing
    else is said."""
    norm = _NUMBER_CUE.sub(" ", normalize(text))
    words = [
        w
        for w in norm.split()
        if not (w.strip(",.?!") in NUMBER_WORDS or w.strip(",.?!").isdigit() or len(w.strip(",.?!")) <= 1)
        and w.strip(",.?!") not in ("oh", "uh", "um", "well", "so")
    ]
    return " ".join(words).strip(" ,.!?") if len(words) >= 2 else ""


class MetaTurn:
    agent: str
    router: IntentRouter
    tool_list: list[ToolSpec]
    tools: dict[str, ToolSpec]
    convo: DialogReading
    state: DialogState

    async def route(self, text: str) -> Route:
        raise NotImplementedError

    def start(self, spec: ToolSpec, text: str, context: str = "") -> Decision:
        raise NotImplementedError

    async def keep_second_request(
        self, text: str, chosen: str, *, handoffs: bool = True
    ) -> tuple[str, str] | None:
        raise NotImplementedError  # SecondRequests', which comes first in Turn's bases

    def call(self, spec: ToolSpec, args: dict[str, Any], *, keep_pending: bool = False) -> Decision:
        raise NotImplementedError

    def not_understood(self, lead: str = ...) -> Decision:
        raise NotImplementedError

    def on_meta(self, meta: Meta, text: str) -> Decision:
        """ "hold on", "say that again", "what can you do?", "bye", "a person please": never a slot value."""
        pending = self.state.pending
        if meta is Meta.HOLD:
            return Decision(HOLD_ON)  # whatever was asked stays asked
        if meta is Meta.REPEAT:
            return Decision(self.convo.last_content or offer(self.tool_list))
        if meta is Meta.CAPABILITIES:
            self.state.misses = 0
            follow = pending.question if pending is not None else "What would you like to do?"
            return Decision(f"{offer(self.tool_list, limit=5)} {follow}")
        self.state.pending = self.state.confirm = self.state.deferred = None
        self.state.queued = []
        if meta is Meta.GOODBYE:
            if "end_call" in self.tools:
                return self.call(self.tools["end_call"], {"reason": "the caller said goodbye"})
            return Decision("Thank you for calling. Goodbye.")
        if "transfer_to_human" in self.tools:
            return self.call(self.tools["transfer_to_human"], {"reason": sentence(text)})
        return self.not_understood()

    async def asks_after_cancel(self, text: str) -> bool:
        """ "never mind that, just tell me my balance": a request after the taking-back, not a bare cancel."""
        tail = taken_back(text)
        return tail is not None and (await self.route(tail)).tool is not None

    async def route_request(self, text: str) -> Route:
        """The tool for what the caller asks: when they also say who they are, the request is routed without
        the name and digits (which would pull it towards verification or a tool sharing a word with them); when
        they take back what they started to ask ("move some, no actually, just tell me ..."), what comes after.
        A money movement needs words that ask for one (`_moves_money`); without them the best tool that moves
        nothing is the request, or none."""
        return self._money_moves_only_when_asked(text, await self._route_request(text))

    def _money_moves_only_when_asked(self, text: str, route: Route) -> Route:
        spec = self.tools.get(route.tool) if route.tool is not None else None
        if spec is None or not needs_confirmation(spec) or self.state.pending is not None:
            return route
        if _moves_money(spec, normalize(text)):
            return route
        rivals = [
            (score, name)
            for name, score in route.scores.items()
            if name != spec.name
            and name in self.tools
            and self.tools[name].handoff is None
            and name not in CALL_CONTROL
            and name != "verify_identity"
            and not needs_confirmation(self.tools[name])
        ]
        if not rivals or max(rivals)[0] < self.router.threshold:
            return Route(tool=None, score=route.score, best=route.best, scores=route.scores)
        score, name = max(rivals)
        return Route(tool=name, score=score, best=name, scores=route.scores)

    async def _route_request(self, text: str) -> Route:
        tail = taken_back(text)
        if tail is not None:
            instead = await self.route(tail)
            if instead.tool is not None:
                return instead
        route = await self.route(text)
        plain = _PLEASE.sub(" ", text).strip(" ,.!?")
        if route.tool in (None, "end_call") and plain and plain != text.strip(" ,.!?"):
            bare = await self.route(plain)  # "checking please": politeness pulls a fragment off its tool
            route = bare if bare.tool is not None else route
        if route.tool in LOOKUP_FIRST.values() and (beside := without_read_out(text)):
            # The number pulls the words towards the tool that only confirms it ("my deductible? my policy is
            # A U four eight ..."): what the words beside it ask for, when that is clear, is the request.
            asked_beside = await self.route(beside)
            if asked_beside.tool not in (None, route.tool) and asked_beside.score >= SWITCH_THRESHOLD:
                return asked_beside
        rest = request_without_identity(text)
        if rest is None and (asked := story_tail(text)) is not None:
            told = await self.route(asked)  # a story first, then the request: the request alone, when clearer
            if told.tool is not None and (route.tool is None or told.score > route.score):
                return told
        if rest is None:
            return route
        request = await self.route(rest)
        if request.tool is None or request.tool == "verify_identity":
            return route
        return request

    async def on_handover(self, handover: ToolOutcome) -> Decision:
        """Just handed the call: take up the request that caused the handoff when one of this agent's own tools
        serves it; otherwise say nothing (the new agent's greeting asks what the caller needs)."""
        seen = self.convo.handover_to(self.agent) if self.agent else None  # what adopt_handover would take up
        ids = [handover.call_id, *([seen.call_id] if seen is not None else [])]
        self.state.adopted = [*self.state.adopted, *ids][-MAX_ADOPTED:]
        request = without_fillers(handover.asked_by).strip()
        if not request or classify(request) is not None or only_asks_for(request, self.agent):
            return Decision()
        route = await self.route_request(request)
        spec = self.tools.get(route.tool or "")
        if spec is None or spec.handoff is not None:
            # It was handed here for this: the best of its own tools, when that is a clear match, rather than
            # handing the call straight back ("check on my car claim" sounds like claims, it is a status).
            own = [
                (score, name)
                for name, score in route.scores.items()
                if name in self.tools and self.tools[name].handoff is None and name not in CALL_CONTROL
            ]
            best = max(own, default=(0.0, ""))
            spec = self.tools[best[1]] if best[0] >= SWITCH_THRESHOLD else None
        if spec is None or spec.name in CALL_CONTROL:
            return Decision()
        self.state.misses = 0
        if (first := await self.keep_second_request(request, spec.name, handoffs=False)) is not None:
            return self.start(
                self.tools[first[0]], first[1], request
            )  # its clause, then the rest for what it lacks
        return self.start(spec, request)

    async def adopt_handover(self, text: str) -> Decision | None:
        """The caller's first words to this agent after a handoff: take up the request that caused the handoff
        (with what the caller says now), unless they now ask for something else."""
        handover = self.convo.handover_to(self.agent) if self.agent else None
        if handover is None or handover.call_id in self.state.adopted:
            return None
        self.state.adopted = [*self.state.adopted, handover.call_id][-MAX_ADOPTED:]
        request = handover.asked_by.strip()
        if not request or request == text.strip() or self.state.pending or self.state.confirm:
            return None  # a discrete handoff answers that very utterance anyway
        earlier = await self.route(request)
        spec = self.tools.get(earlier.tool or "")
        if spec is None or spec.handoff is not None or spec.name in CALL_CONTROL:
            return None
        now = await self.route(text)
        answering = bool(_LONG_NUMBER.search(text.lower()))  # a read-out number answers, it does not ask
        if (
            now.tool not in (None, spec.name, "verify_identity")
            and now.score >= SWITCH_THRESHOLD
            and not answering
        ):
            return None  # the caller asks for something else now
        self.state.misses = 0
        verifier = self.tools.get("verify_identity")
        if now.tool == "verify_identity" and verifier is not None and not self.convo.succeeded(verifier.name):
            # The caller answers the new agent with who they are: verify first, then the carried request (its
            # details from the request alone: "the last four of my account" is not the card's).
            carried = self.start(spec, request)
            if carried.calls[:1] and carried.calls[0][0] == spec.name:
                self.state.deferred = {"tool": spec.name, "args": carried.calls[0][1]}
            return self.start(verifier, text)
        return self.start(spec, f"{request}. {text}")
