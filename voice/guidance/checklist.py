"""Checklist status from a transcript: an item is done at the first turn that satisfies it (a successful call
of one of its tools, or its phrases said by the agent or the caller, matched the way the local brain matches
speech: normalised, whole words, a cheap plural/tense stem on the last word), and not applicable once one of its
`not_applicable_after` tools ran before it was done."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from registries.scenariostore.guidance import ChecklistItem
from voice.guidance.models import ChecklistStatus, GuidanceTurn
from voice.llm.local_brain.spoken import normalize


@functools.lru_cache(maxsize=1024)
def phrase_pattern(phrase: str) -> re.Pattern[str]:
    words = [re.escape(w) for w in normalize(phrase).split()]
    if not words:
        return re.compile(r"(?!x)x")
    words[-1] += r"(?:s|es|ed|ing|d)?"
    return re.compile(r"\b" + r"\s+".join(words) + r"\b")


def says(text: str, phrases: Sequence[str]) -> bool:
    norm = normalize(text)
    return any(phrase_pattern(p).search(norm) for p in phrases)


def _satisfies(item: ChecklistItem, turn: GuidanceTurn) -> bool:
    if turn.speaker == "agent":
        return bool(set(item.tools) & set(turn.tools)) or says(turn.text, item.agent_says)
    return says(turn.text, item.caller_says)


def checklist_status(items: Sequence[ChecklistItem], turns: Sequence[GuidanceTurn]) -> list[ChecklistStatus]:
    statuses = []
    for item in items:
        status, at = "missing", None
        for index, turn in enumerate(turns):
            seq = turn.seq if turn.seq is not None else index
            if _satisfies(item, turn):
                status, at = "done", seq
                break
            if turn.speaker == "agent" and set(item.not_applicable_after) & set(turn.tools):
                status, at = "not_applicable", seq
                break
        statuses.append(ChecklistStatus(id=item.id, label=item.label, status=status, turn=at))
    return statuses
