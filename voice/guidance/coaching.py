"""One or two short coaching lines for a supervisor or the agent: how to meet the caller's tone, then the
next checklist item still missing."""

from __future__ import annotations

from collections.abc import Sequence

from voice.guidance.models import ChecklistStatus, Tone, ToneReading

TONE_COACHING: dict[Tone, str] = {
    "distressed": "The caller sounds distressed: slow down, reassure them, and offer a person right away.",
    "angry": "The caller sounds angry: acknowledge the problem and say what happens next.",
    "frustrated": "The caller is frustrated: don't ask again for what they already said.",
    "confused": "The caller seems confused: explain the step in plain words and check they follow.",
    "calm": "",
}
MIN_TONE_CONFIDENCE = 0.5


def coaching_lines(tone: ToneReading, checklist: Sequence[ChecklistStatus]) -> tuple[str, ...]:
    lines = []
    if tone.confidence >= MIN_TONE_CONFIDENCE and TONE_COACHING[tone.tone]:
        lines.append(TONE_COACHING[tone.tone])
    missing = [item for item in checklist if item.status == "missing"]
    if missing:
        lines.append(f"Next on the checklist: {missing[0].label.rstrip('.')}.")
    elif checklist:
        lines.append("Every checklist item is covered: confirm the resolution and close politely.")
    return tuple(lines[:2])
