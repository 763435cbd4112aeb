"""Checklist status from a transcript: an item is done at the first turn that satisfies it (a successful call
of one of its tools, or its phrases said by the agent or the caller, matched the way the local brain matches
speech: normalised, whole words, a cheap plural/tense stem on the last word), and not applicable once one of its
`not_applicable_after` tools ran before it was done."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

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


@functools.lru_cache(maxsize=256)
def _any_phrase(phrases: tuple[str, ...]) -> re.Pattern[str] | None:
    """One search for a whole list (a checklist item's), None for an empty one: re-read on every report."""
    if not phrases:
        return None
    return re.compile("|".join(f"(?:{phrase_pattern(p).pattern})" for p in phrases))


@dataclass(frozen=True, slots=True)
class _TurnRead:
    seq: int
    agent: bool
    words: str  # normalised
    tools: frozenset[str]


def checklist_status(items: Sequence[ChecklistItem], turns: Sequence[GuidanceTurn]) -> list[ChecklistStatus]:
    # Each turn is normalised once for all items (a live call re-reads up to MAX_TURNS turns per report).
    reads = [
        _TurnRead(
            seq=turn.seq if turn.seq is not None else index,
            agent=turn.speaker == "agent",
            words=normalize(turn.text),
            tools=frozenset(turn.tools),
        )
        for index, turn in enumerate(turns)
    ]
    return [_item_status(item, reads) for item in items]


def _item_status(item: ChecklistItem, reads: Sequence[_TurnRead]) -> ChecklistStatus:
    tools, ends_it = frozenset(item.tools), frozenset(item.not_applicable_after)
    agent_says, caller_says = _any_phrase(item.agent_says), _any_phrase(item.caller_says)
    status, at = "missing", None
    for read in reads:
        if read.agent:
            if not tools.isdisjoint(read.tools) or (agent_says is not None and agent_says.search(read.words)):
                status, at = "done", read.seq
                break
            if not ends_it.isdisjoint(read.tools):
                status, at = "not_applicable", read.seq
                break
        elif caller_says is not None and caller_says.search(read.words):
            status, at = "done", read.seq
            break
    return ChecklistStatus(id=item.id, label=item.label, status=status, turn=at)
