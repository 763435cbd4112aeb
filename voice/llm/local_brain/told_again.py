"""More of a story already on record: "grease fire on the stove, it burned the cabinets" right after the claim
was filed tells about the same incident, it does not start a second claim (asking again when and where it
happened). Only tools that record a story in the caller's words (a `description`) are concerned, and only
when nothing the caller says now differs from what was recorded (a new date, place, policy or kind is a new
request, and "another", "a second", "also" say so outright)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

from registries.toolstore.decorator import ToolSpec
from voice.llm.local_brain.dialog import ToolOutcome
from voice.llm.local_brain.extract import extract_arguments
from voice.llm.local_brain.follow_ups import ALREADY_DONE
from voice.llm.local_brain.params import param_kind
from voice.llm.local_brain.replies import render_reply
from voice.llm.local_brain.slots import properties
from voice.llm.local_brain.spoken import normalize

_ANOTHER = re.compile(
    r"\b(?:another|second|also|different|separate|new|again|one more|other|too|as well|file|report|claim)\b"
)
_FREE_TEXT = frozenset({"description", "text", "reason"})


def story_on_record(
    spec: ToolSpec, text: str, outcomes: Sequence[ToolOutcome], *, today: date
) -> ToolOutcome | None:
    """The earlier successful call of `spec` that `text` only tells more about, if any."""
    kinds = {name: param_kind(name, prop) for name, prop in properties(spec).items()}
    if spec.handoff is not None or "description" not in kinds.values():
        return None
    earlier = next((o for o in reversed(outcomes) if o.ok and o.name == spec.name), None)
    if earlier is None or _ANOTHER.search(normalize(text)):
        return None
    said = extract_arguments(spec.parameters, text, today=today)
    differs = {
        k
        for k, v in said.items()
        if kinds.get(k) not in _FREE_TEXT
        and earlier.args.get(k) != v
        and not (kinds.get(k) == "place" and _same_place(earlier.args.get(k), v))
    }
    # The same day at the same place is the same incident, whatever kind the new words suggest ("the garage"
    # of a car park is no home claim); a new day, place or policy is a new request.
    anchored = any(kinds.get(k) == "date" for k in said) and any(kinds.get(k) == "place" for k in said)
    if differs and not (anchored and all(kinds.get(k) == "enum" for k in differs)):
        return None
    return earlier


_ARTICLES = frozenset({"the", "a", "an", "my", "our", "on", "in", "at", "near", "by"})


def _same_place(before: object, now: object) -> bool:
    """ "Highway 18 near Issaquah" after "the highway": the same place told more precisely (or less)."""
    if not isinstance(before, str) or not isinstance(now, str):
        return False
    a, b = ({w for w in normalize(p).split() if w not in _ARTICLES} for p in (before, now))
    return bool(a and b) and (a <= b or b <= a)


def told_again(spec: ToolSpec, text: str, outcomes: Sequence[ToolOutcome], *, today: date) -> str | None:
    """What to say when `text` only tells more of a story on record: that it is done, and its result again."""
    earlier = story_on_record(spec, text, outcomes, today=today)
    if earlier is None:
        return None
    return f"{ALREADY_DONE} {render_reply(spec, earlier.output, earlier.args)}"
