"""Intake form values as callers say them, for the local brain's form filling (`intake.py`): reading a field's
value from an answer, spotting typed values said in passing ("it's a six out of ten, since yesterday"), red
flags (with negation: "no chest pain" raises nothing), and speaking values back in the read-back.

Values are kept JSON-ready (dates as ISO strings) because they live in the call's scratch between turns.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from registries.scenariostore.intake import IntakeField, IntakeForm, RedFlag
from registries.toolstore.demo.speech import listing, spoken_date
from voice.llm.local_brain.dates import parse_date
from voice.llm.local_brain.enums import match_enum
from voice.llm.local_brain.spoken import normalize, numbers, tokens

_FILLER = re.compile(r"^(?:(?:um+|uh+|er+|well|so|okay|ok|yes|yeah|yep|oh|hi|hello)[\s,.!]+)+")
_UNITS = ("minute", "hour", "day", "week", "month", "year")
_COUNT_WORDS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "a couple of": 2,
    "couple of": 2,
    "a couple": 2,
    "a few": 3,
    "few": 3,
}
_DURATION_UNIT = re.compile(r"\b(minute|hour|day|week|month|year)s?\b(?! ago)")
_ONSET_CUE = re.compile(r"\b(?:since|started|start|began|begun|ago|yesterday|last night|this morning)\b")
_SCALE = re.compile(r"\b(?:out of (?:ten|10)|on a scale|scale of)\b")
_SCALE_BOUNDS = re.compile(
    r"\b(?:out of (?:ten|10)|(?:on )?(?:a |the )?scale (?:of |from )?(?:zero|one|0|1) to (?:ten|10)|"
    r"(?:from )?(?:zero|one|0|1) (?:to|through) (?:ten|10))\b"
)
"""The scale's own numbers ("out of ten", "on a scale of one to ten"): never the caller's answer, so a misheard
"seven out of ten" asks again instead of reading 10, and "on a scale of one to ten, an eight" reads 8, not 1."""
_NEGATION = re.compile(
    r"\b(?:no|not|don't|do not|without|never|denies|haven't|hasn't|isn't|any)\s+(?:\w+\s+){0,2}$"
)
_LIST_LEAD_INS = re.compile(
    r"\b(?:i'm|i am|i've been|i have been|i was|i) (?:taking|take|took|using|on|allergic(?: to)?|having|feeling|"
    r"feel|have|had|got|get)\b|\b(?:allergic(?: to)?|i've got|i have got|there's|there is|just|also|some|a little|"
    r"a bit of|kind of|sort of)\b"
)
_LIST_SPLIT = re.compile(r",|;|\band\b|\bor\b|\bplus\b|\bas well as\b")
_NONE_ITEM = re.compile(
    r"^(?:no|none|nothing|nope|nah|not really|no other(?: \w+)?|no known(?: \w+)?|no \w+|not (?:taking )?any(?: \w+)?|"
    r"i don't(?: have any(?: \w+)?| take any(?: \w+)?)?|don't have any(?: \w+)?|none that i know of|not that i know of|"
    r"nothing else|that's it|that's all)$"
)
_ASKS_ADVICE = re.compile(
    r"\b(?:do you think|what do you think|could it be|might it be|can you tell me (?:what|if)|"
    r"what (?:do i have|is (?:it|this|wrong)|should i (?:take|do))|what (?:medicine|medication|pills?) should|"
    r"should i (?:take|go to|see|be worried|worry)|is (?:it|this|that) (?:serious|bad|dangerous|normal)|"
    r"am i (?:ok|okay|going to be)|diagnos\w*)\b"
)
"""A caller asking what they have or what to do: advice the intake must not give (`IntakeForm.advice_reply`)."""
_DROP_WORDS = {"a", "an", "the", "my", "of", "um", "uh", "too", "as", "well"}


def _clean(text: str) -> str:
    text = " ".join(text.split()).strip(" ,.!?")
    return _FILLER.sub("", text).strip(" ,.!?")


def _count_before(words: list[str]) -> float | None:
    """The count said right before a unit: "a couple of", "twenty one", "a"."""
    for size in (3, 2, 1):
        said = words[-size:]
        if len(said) < size:
            continue
        if " ".join(said) in _COUNT_WORDS:
            return _COUNT_WORDS[" ".join(said)]
        found = [n for n in numbers(said) if n.end == len(said)]
        if found and found[0].start == 0:
            return found[0].value
    return None


def read_duration(text: str, *, today: date, asked: bool) -> str | None:
    """ "for about two days" -> "2 days"; when asked, "since yesterday" -> "1 day" too."""
    norm = normalize(text)
    for match in _DURATION_UNIT.finditer(norm):
        count = _count_before(norm[: match.start()].split())
        if count is not None and count > 0:
            value = int(count) if float(count).is_integer() else round(count, 1)
            return f"{value} {match.group(1)}{'' if value == 1 else 's'}"
    if asked:
        since = parse_date(norm, today=today)
        if since is not None and since < today:
            days = (today - since).days
            return f"{days} day{'' if days == 1 else 's'}"
    return None


def read_number(field: IntakeField, text: str, *, asked: bool) -> int | float | None:
    """The first number within the field's bounds; said in passing, only "six out of ten" style counts."""
    norm = normalize(text)
    if not asked and not _SCALE.search(norm):
        return None
    for num in numbers(tokens(_SCALE_BOUNDS.sub(" , ", norm))):
        value = num.value
        if field.integer and not float(value).is_integer():
            continue
        if (field.minimum is None or value >= field.minimum) and (
            field.maximum is None or value <= field.maximum
        ):
            return int(value) if field.integer or float(value).is_integer() else value
    return None


def read_list(field: IntakeField, text: str) -> list[str] | None:
    """ "I'm taking ibuprofen and tylenol" -> ["ibuprofen", "tylenol"]; "no allergies" -> []."""
    norm = _clean(normalize(text))
    if not norm:
        return None
    if _NONE_ITEM.match(norm):
        return []
    items: list[str] = []
    nothing = False
    for part in _LIST_SPLIT.split(_LIST_LEAD_INS.sub(" ", norm)):
        part = _clean(part)
        if not part:
            continue
        if _NONE_ITEM.match(part):
            nothing = True
            continue
        words = [w for w in part.split() if w not in _DROP_WORDS]
        if words:
            items.append(" ".join(words)[: field.max_length])
    if not items:
        return [] if nothing else None
    return list(dict.fromkeys(items))[: field.max_items]


def read_value(field: IntakeField, text: str, *, today: date, asked: bool) -> Any:
    """The field's value in `text` (JSON-ready), or None when it is not there."""
    if field.type == "enum":
        return match_enum(text, field.values)
    if field.type == "number":
        return read_number(field, text, asked=asked)
    if field.type == "date":
        norm = normalize(text)
        if not asked and not _ONSET_CUE.search(norm):
            return None
        found = parse_date(norm, today=today)
        return found.isoformat() if found is not None and found <= today else None
    if field.type == "duration":
        return read_duration(text, today=today, asked=asked)
    if not asked:
        return None  # free text and lists are only taken as the answer to their own question
    if field.type == "list":
        return read_list(field, text)
    value = _clean(text)[: field.max_length]
    if not re.search(r"[A-Za-z0-9]", value) or (field.pattern and not re.search(field.pattern, value)):
        return None
    return value


def values_in_passing(form: IntakeForm, text: str, *, today: date, skip: Iterable[str]) -> dict[str, Any]:
    """Typed values (number, date, duration, enum) said while answering something else."""
    skipped = set(skip)
    found: dict[str, Any] = {}
    for field in form.fields:
        if field.name in skipped or field.type in ("text", "list"):
            continue
        value = read_value(field, text, today=today, asked=False)
        if value is not None:
            found[field.name] = value
    return found


def _words_only(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s']", " ", normalize(text)).split())


def raised_red_flag(form: IntakeForm, text: str) -> RedFlag | None:
    """The first red flag whose phrase `text` says, unless negated just before ("no chest pain"). Punctuation
    does not count: recognised speech may put a full stop inside a phrase ("I can't. breathe,")."""
    norm = _words_only(text)
    for flag in form.red_flags:
        for phrase in flag.phrases:
            for match in re.finditer(rf"\b{re.escape(_words_only(phrase))}\b", norm):
                if not _NEGATION.search(norm[: match.start()]):
                    return flag
    return None


def asks_for_advice(text: str) -> bool:
    return bool(_ASKS_ADVICE.search(normalize(text)))


def mentioned_field(form: IntakeForm, text: str) -> IntakeField | None:
    """The field the caller names ("the medications are wrong"), by the stems of its label's words."""
    norm = normalize(text)
    best: tuple[int, IntakeField] | None = None
    for field in form.fields:
        stems = {w[:6] for w in re.split(r"[\s_]+", field.spoken_label.lower()) if len(w) >= 4}
        hits = sum(1 for stem in stems if re.search(rf"\b{re.escape(stem)}", norm))
        if hits and (best is None or hits > best[0]):
            best = (hits, field)
    return best[1] if best else None


def spoken_value(field: IntakeField, value: Any, today: date) -> str:
    if value is None:
        return "not given"
    if field.type == "list":
        return listing([str(v) for v in value]) if value else "none"
    if field.type == "date":
        try:
            return spoken_date(date.fromisoformat(str(value)), today=today)
        except ValueError:
            return str(value)
    if field.type == "number":
        shown = int(value) if float(value).is_integer() else value
        return (
            f"{shown} out of {int(field.maximum)}"
            if field.maximum is not None and field.minimum == 0
            else str(shown)
        )
    return str(value)


def read_back(form: IntakeForm, values: Mapping[str, Any], today: date) -> str:
    """ "Let me read that back. Main concern: headache. Severity: 6 out of 10. ... Is that right?" """
    parts = [form.summary_intro]
    for field in form.fields:
        if field.name in values:
            label = field.spoken_label
            parts.append(f"{label[0].upper()}{label[1:]}: {spoken_value(field, values[field.name], today)}.")
    parts.append("Is that right?")
    return " ".join(parts)


def question_for(field: IntakeField) -> str:
    return field.question or f"What's the {field.spoken_label}?"
