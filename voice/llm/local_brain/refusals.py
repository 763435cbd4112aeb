"""A refusal never leads to an action: "no replacement needed", "I don't want a new card", "skip the
replacement" name the very thing a tool does, and mean it is not to be done. The tool's own name gives the
words ("order_replacement_card": replacement, card)."""

from __future__ import annotations

import re
from functools import cache

from registries.toolstore.decorator import ToolSpec
from voice.llm.local_brain.slots import reads_only
from voice.llm.local_brain.spoken import normalize

_VERBS = frozenset(
    {"get", "set", "order", "make", "file", "open", "send", "lock", "confirm", "list", "look", "up"}
)
"""Words of a tool name that say how, not what: "no order" refuses nothing in particular."""


@cache
def _refusal(words: tuple[str, ...]) -> re.Pattern[str]:
    thing = rf"(?:new |another |a |any |the |that |this )?(?:{'|'.join(map(re.escape, words))})s?"
    return re.compile(
        rf"\b(?:no {thing} (?:needed|necessary|required|for now|yet|today|right now|thanks|thank you)\b|"
        rf"(?:i )?(?:don't|do not|won't|will not) (?:need|want|bother with) {thing}\b|"
        rf"(?:skip|forget|hold off on) {thing}\b|"
        rf"(?:not|never) (?:going to |gonna )?(?:need|want) {thing}\b)"
    )


def refuses(spec: ToolSpec, text: str) -> bool:
    """Whether `text` turns down what `spec` would do. Only tools that change something are refused this way
    (a look-up asked "no balance needed" simply is not asked)."""
    if reads_only(spec) or spec.handoff is not None:
        return False
    words = tuple(w for w in spec.name.lower().split("_") if len(w) > 2 and w not in _VERBS)
    if not words:
        return False
    return _refusal(words).search(normalize(text)) is not None
