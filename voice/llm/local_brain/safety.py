"""Someone hurt or in danger comes first: "my friend's arm is bleeding really bad". Whatever the caller asks
for, the reply opens by telling them to call 911, as every shipped agent's prompt says ("first make sure
everyone is safe"); the conversation then goes on as usual. Intake forms have their own red flags
(`intake_values.raised_red_flag`), which transfer the call; this only adds the advice."""

from __future__ import annotations

import re

from voice.llm.local_brain.spoken import normalize

CALL_911 = "If anyone is hurt or in danger, please hang up and call 911 right away."

_DANGER = re.compile(
    r"\b(?:bleeding|blood everywhere|unconscious|passed out|not breathing|can't breathe|knocked out|"
    r"(?:is|are|got|was|were|badly|really|seriously|very) (?:hurt|injured)|injur(?:y|ies)|broken (?:arm|leg|bone)|"
    r"(?:neck|back|head|chest|arm|leg|shoulder|knee|wrist|ribs?) (?:hurts|is hurting|is killing)|"
    r"(?:hurt|injured|banged|broke) (?:his|her|my|their|your) (?:neck|back|head|chest|arm|leg|shoulder|knee|wrist)|"
    r"need an ambulance|call(?:ed)? an ambulance|on fire|still burning|trapped|smell(?:s)? gas)\b"
)
_SAFE = re.compile(
    r"\b(?:no(?:body|one| one|-one) (?:is |was |got |were )?(?:hurt|injured)|"
    r"(?:everyone|everybody)(?:'s| is) (?:ok|okay|fine|safe)|(?:we're|we are) all (?:ok|okay|fine|safe))\b"
)


def in_danger(text: str) -> bool:
    """Whether the caller says someone is hurt or in danger now (and not that nobody is)."""
    norm = normalize(text)
    return _DANGER.search(norm) is not None and _SAFE.search(norm) is None
