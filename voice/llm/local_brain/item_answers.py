"""Answers about several items in one breath: asked "the first is 899 dollars at ElectroMart Online. Did you make
it?", the caller says "the ElectroMart one isn't mine. The gas station one is mine though." The answer to the
question is the clause that names the item asked about (not the first yes or no word of the whole line), and the
other clause already answers the next question when that one is about the item it names ("75 dollars at
QuickFuel Station. Did you make it?"). Pure functions over recognised speech and the agent's words."""

from __future__ import annotations

import re

from registries.toolstore.decorator import ToolSpec
from voice.llm.local_brain.decision import Decision
from voice.llm.local_brain.dialog import DialogReading, ToolOutcome
from voice.llm.local_brain.params import unwrap
from voice.llm.local_brain.slots import properties, required
from voice.llm.local_brain.spoken import MONTHS, NUMBER_WORDS, normalize
from voice.llm.local_brain.state import DialogState
from voice.llm.local_brain.yes_no import parse_yes_no

_CLAUSE = re.compile(r"(?<=[.?!;])\s+|,?\s+\b(?:but|whereas|while)\b\s+")
_SENTENCE = re.compile(r"(?<=[.?!])\s+")
_PLAIN = frozenset(
    """about after again also been before being could dollars cents does done from have just like made make
    mine ours said says that their them then there these they this those though thing things what when where
    which with would your yours yeah okay right sure sorry really one ones first second next last other
    purchase purchases charge charges charged transaction transactions review found there's it's that's
    did didn't wasn't isn't know heard never ever even""".split()
)
"""Words that name no item: answers, pronouns, and what every question about a charge says."""


def _item_words(text: str) -> set[str]:
    """The words of `text` that can name an item: merchants, places, kinds of shop ("station", "electromart")."""
    words = re.findall(r"[a-z][a-z'-]{3,}", normalize(text))
    return {w for w in words if w not in _PLAIN and w not in MONTHS and w not in NUMBER_WORDS}


def _asked_about(spoken: str | None) -> set[str]:
    """The item words of the agent's question and the sentence before it (where the item is described)."""
    if not spoken:
        return set()
    sentences = [s for s in _SENTENCE.split(spoken.strip()) if s]
    while sentences and not sentences[-1].rstrip().endswith("?"):
        sentences.pop()
    return _item_words(" ".join(sentences[-2:]))


def answer_clauses(text: str) -> list[str]:
    """The clauses of `text` that answer yes or no."""
    return [c for c in _CLAUSE.split(text) if c.strip() and parse_yes_no(c) is not None]


def answer_for_item(text: str, spoken: str | None) -> str | None:
    """The one clause of a several-clause answer that names the item the agent just asked about, when the
    clauses disagree ("X isn't mine. Y is mine"); None when the answer is one answer."""
    clauses = answer_clauses(text)
    if len(clauses) < 2 or len({parse_yes_no(c) for c in clauses}) < 2:
        return None
    asked = _asked_about(spoken)
    naming = [c for c in clauses if _item_words(c) & asked]
    return naming[0] if len(naming) == 1 else None


def held_answer(text: str, answered: str, spoken: str) -> str | None:
    """The clause of the caller's `text` that answers the agent's new question `spoken` about another item: it
    names that item, and not the one the clause `answered` was about."""
    if answered == text:
        return None
    asked = _asked_about(spoken)
    used = _item_words(answered)
    naming = [
        c
        for c in answer_clauses(text)
        if c != answered and (_item_words(c) & asked) and not (_item_words(c) & used & asked)
    ]
    return naming[0] if len(naming) == 1 else None


class ItemAnswers:
    """A base of `Turn` (`turn.py`), which provides `start`: the clause for the item asked about, and the
    clause held for the next item."""

    tools: dict[str, ToolSpec]
    convo: DialogReading
    state: DialogState

    def start(self, spec: ToolSpec, text: str, context: str = "") -> Decision:
        raise NotImplementedError

    def focus_on_item(self, spec: ToolSpec, text: str) -> str:
        """`text`, or the clause of it that answers the yes/no question about the item just asked about (when
        `spec` takes a yes or no); the rest is held for the next question."""
        takes_answer = any(
            unwrap(properties(spec).get(n, {})).get("type") == "boolean" for n in required(spec)
        )
        clause = answer_for_item(text, self.convo.last_spoken) if takes_answer else None
        if clause is None:
            return text
        self.state.held = {"tool": spec.name, "text": text, "used": clause}
        return clause

    def answer_held(self, outcome: ToolOutcome, reply: str) -> Decision | None:
        """After the first item's answer went through and the reply asks about the next item: the caller's
        clause that named that one already answers it."""
        held, self.state.held = self.state.held, None
        spec = self.tools.get(outcome.name)
        if not held or spec is None or held.get("tool") != outcome.name or not reply.rstrip().endswith("?"):
            return None
        clause = held_answer(str(held["text"]), str(held["used"]), reply)
        return self.start(spec, clause) if clause else None
