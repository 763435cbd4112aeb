"""Yes/no answers and boolean parameters: "yeah that was me", "no I didn't make that purchase", and a flag's
own cue words ("rush it" is an expedited shipment) even when no yes/no question was asked."""

from __future__ import annotations

import re
from collections.abc import Sequence

from voice.llm.local_brain.spoken import normalize

_UNSURE = re.compile(r"\b(not sure|don't know|do not know|no idea|maybe|i guess|not certain)\b")
_STRONG_NO = re.compile(
    r"\b(didn't|did not|not me|wasn't me|was not me|wasn't mine|not mine|isn't mine|aren't mine|weren't mine|"
    r"don't recognize|do not recognize|never|nope|nah|no way|negative|don't|do not|cancel|not at all)\b|^\s*no\b|"
    r"\b(?:of course|definitely|absolutely|certainly|obviously|surely|hell|god|heck) not\b"
)
"""A no, also when an intensifier that alone would be a yes leads it ("of course not", "obviously not")."""
_YES = re.compile(
    r"\b(yes|yeah|yep|yup|yea|sure|correct|right|affirmative|absolutely|definitely|certainly|of course|ok|okay|alright|"
    r"please do|go ahead|do it|that's me|that was me|it was me|i did|i made|that's mine|is mine|was mine|mine|"
    r"i recognize|sounds good|that works|please)\b"
)
_WEAK_NO = re.compile(r"\b(no|not|wasn't|isn't)\b")
_PLAIN_NO = re.compile(
    r"^(?:no|nope|nah|not really|not now|no thanks|no thank you|not at all)\b|\b(?:not|wasn't|was not) (?:mine|me)\b|"
    r"^(?:of course|definitely|absolutely|certainly|obviously|hell|god|heck) not\b"
)
_RESTATING = re.compile(
    r"(?:^|(?<=[.,!?]))\s*(?:(?:like|as) i (?:just |already )?(?:said|told you|mentioned)|i (?:just |already )?(?:said|told you)"
    r"(?: that| so| this| already)?)\b[\s.,!?]*"
)
"""A clause that only points back at what the caller said before ("I just said that", "like I told you")."""


def plain_no(norm: str) -> bool:
    """A "no" that answers the question, also when it disowns ("right, not mine") or is stressed ("obviously
    not"); "this isn't working" has a negation but answers nothing."""
    return _PLAIN_NO.search(norm.strip()) is not None


def without_restating(norm: str) -> str:
    """The answer without clauses that only say it was said before: "obviously not. i just said that." ->
    "obviously not."."""
    return _RESTATING.sub(" ", norm).strip() or norm


def parse_yes_no(text: str) -> bool | None:
    """True for yes ("yeah that was me", "I did buy that"), False for no ("no I didn't make that purchase",
    "that's not me"), None when unsure or neither."""
    norm = normalize(text)
    if _UNSURE.search(norm):
        return None
    if _STRONG_NO.search(norm):
        return False
    if _YES.search(norm):
        return True
    if _WEAK_NO.search(norm):
        return False
    return None


BOOL_CUES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # parameter name -> (phrases meaning True, phrases meaning False)
    "expedited": (
        ("rush", "expedite", "expedited", "express", "fast", "faster", "fastest", "quick", "quickly", "quickest",
         "asap", "overnight",
         "urgent", "urgently", "right away", "as soon as", "two day", "2 day", "hurry", "soon",
         "need it by", "need them by", "by tomorrow", "by monday", "by tuesday", "by wednesday"),
        ("standard", "regular", "normal", "no rush", "no hurry", "not urgent", "whenever", "slow", "free shipping"),
    ),
}  # fmt: skip


_CHANGED_MIND = re.compile(r"\b(?:actually,? no|no,? actually|no,? wait|on second thought|scratch that)\b")


def parse_flag(name: str, text: str, *, asked: bool) -> bool | None:
    """A boolean parameter: its own cue words (BOOL_CUES) first ("two-day" as "two day"); plain yes/no only when
    it was asked for."""
    norm = normalize(text).replace("-", " ")
    cues = BOOL_CUES.get(name)
    changed = list(_CHANGED_MIND.finditer(norm))
    if cues is not None and changed and (tail := norm[changed[-1].end() :]).strip():
        if _first_phrase(tail, cues[0]) is not None or _first_phrase(tail, cues[1]) is not None:
            norm = tail  # "standard's fine. actually no, rush it": what follows the change of mind
    if cues is not None:
        false_hit = _first_phrase(norm, cues[1])
        true_hit = _first_phrase(norm, cues[0])
        if false_hit is not None and (true_hit is None or false_hit <= true_hit):
            return False
        if true_hit is not None:
            return True
    return parse_yes_no(norm) if asked or cues is None else None


def _first_phrase(norm: str, phrases: Sequence[str]) -> int | None:
    positions = [m.start() for p in phrases if (m := re.search(rf"\b{re.escape(p)}\b", norm))]
    return min(positions) if positions else None


_CONTENT_DIGITS = re.compile(
    r"\b(?:zero|one|two|three|four|five|six|seven|eight|nine|oh|\d)\b.*\b(?:zero|one|two|three|four|five|six|seven|eight|nine|oh|\d)\b"
)


def clear_yes(text: str) -> bool:
    """A yes that is only a yes ("yes please", "yeah go ahead"), what an action that cannot be undone needs:
    not a long answer that merely starts with "okay", nor one carrying numbers meant for something else."""
    norm = " ".join(text.lower().replace(",", " ").replace(".", " ").split())
    return parse_yes_no(norm) is True and len(norm.split()) <= 6 and _CONTENT_DIGITS.search(norm) is None


_FILLER_WORDS = re.compile(r"\b(?:uh|um|just|the|my|a|and|so|well|oh|hi|hello|hey|thanks|thank you)\b")


def beyond_yes(norm: str) -> str:
    """What an answer says besides its yes ("savings balance please" -> "savings balance"): empty for a bare
    "yes please" or "sure, go ahead"."""
    rest = _FILLER_WORDS.sub(" ", _YES.sub(" ", norm))
    return " ".join(re.sub(r"[^\w\s']", " ", rest).split())
