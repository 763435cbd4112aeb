"""What the caller said before this utterance, read again when a request needs it: a detail given earlier
("my policy is A U ..." before a handoff) is not asked for twice, and "that account" is the one named last.
Pure functions of the dialog reading."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from voice.llm.local_brain.dialog import DialogReading
from voice.llm.local_brain.enums import match_enum
from voice.llm.local_brain.extract import extract_value
from voice.llm.local_brain.names import parse_name
from voice.llm.local_brain.params import param_kind, unwrap
from voice.llm.local_brain.spoken import normalize, without_fillers

_BACK_REFERENCE = re.compile(r"\b(?:that|this|the same|same) (?:account|one|card|policy|claim)\b")
"""The caller points back at something named before: "the last two purchases on that account"."""


def points_back(text: str) -> bool:
    return _BACK_REFERENCE.search(normalize(text)) is not None


def said_earlier(convo: DialogReading, name: str, prop: dict[str, Any], *, today: date) -> Any:
    """A detail the caller gave in an earlier utterance (newest first), read as if unprompted, or None. A name
    only when it was given as one ("Marcus Chen here", "this is ..."), not guessed from words before digits.
    A value that already served as another detail (the account's last four, verified) is not this one (the
    card's)."""
    used_as_other = {
        str(v) for o in convo.outcomes if o.ok for k, v in o.args.items() if k != name and v is not None
    }
    for line in reversed(convo.caller_lines[:-1]):
        if param_kind(name, prop) == "name":
            value: Any = parse_name(without_fillers(line), in_passing=False)
        else:
            value = extract_value(name, prop, without_fillers(line), today=today)
        if value is not None and str(value) not in used_as_other:
            return value
    return None


def referred_value(convo: DialogReading, prop: dict[str, Any]) -> str | None:
    """The enum value "that account" points at: the only one named by the agent's last reply or, failing
    that, by the caller's latest line naming exactly one."""
    values = [str(v) for v in unwrap(prop).get("enum", ()) if v != "other"]
    for line in [convo.last_spoken or "", *reversed(convo.caller_lines[:-1])]:
        named = [v for v in values if match_enum(line, [v])]
        if len(named) == 1:
            return named[0]
    return None


_POINTS_AT_STORY = re.compile(
    r"\b(?:file|report|open|start|submit|put in)\b.{0,20}\b(?:it|that|this|one)\b|\bclaim (?:for|on|about) (?:it|that|this)\b"
)
"""A request to report what was told before ("okay, then I want to file a claim for it")."""


_FILES_A_CLAIM = re.compile(r"\b(?:file|report|open|start|submit|put in|make)\b.{0,20}\bclaim\b")
_ITEM_WORD = re.compile(r"\b[a-z]{4,}\b")
_NOT_ITEMS = frozenset(
    """file claim report open start submit make want would like need then okay yeah please that this with
    about from have just thanks also still what when where""".split()
)


def _names_the_story(text: str, line: str) -> bool:
    """A request to file that names what the story was about ("file a claim for the windshield" after "a rock
    cracked my windshield ..."): a thing said in both."""
    norm = normalize(text)
    if not _FILES_A_CLAIM.search(norm):
        return False
    said = {w for w in _ITEM_WORD.findall(norm) if w not in _NOT_ITEMS}
    return bool(said & set(_ITEM_WORD.findall(normalize(line))))


def _story_details(line: str, text: str, props: Mapping[str, Any], *, today: date | None) -> dict[str, Any]:
    """When and where the story line says it happened, for the details the request itself leaves out."""
    if today is None:
        return {}
    found: dict[str, Any] = {}
    for name, prop in props.items():
        if param_kind(name, prop) not in ("date", "place"):
            continue
        if extract_value(name, prop, text, today=today) is not None:
            continue
        value = extract_value(name, prop, without_fillers(line), today=today)
        if value is not None:
            found[name] = value
    return found


def story_told_before(
    convo: DialogReading, text: str, props: Mapping[str, Any], *, today: date | None = None
) -> dict[str, Any]:
    """For a report of a loss (an enum with "other" and a description): what the caller's story, told earlier in
    the call, says the loss was. Harm done to someone else ("other") stands whatever later lines name (a
    guest hurt in the caller's apartment is no home damage); a request that only points at the story ("file
    it") takes its kind and its description from the earliest line naming one."""
    kinds = [
        n for n, p in props.items() if param_kind(n, p) == "enum" and "other" in unwrap(p).get("enum", ())
    ]
    if len(kinds) != 1 or "description" not in props:
        return {}
    values = [str(v) for v in unwrap(props[kinds[0]])["enum"]]
    for line in convo.caller_lines[:-1]:
        told = match_enum(line, values, bare_other=False)
        if told is None:
            continue
        now = match_enum(text, values, bare_other=False)
        if now is None and _POINTS_AT_STORY.search(normalize(text)):
            return {kinds[0]: told, "description": without_fillers(line)}
        if now in (None, told) and _names_the_story(text, line):
            # "then I'd like to file a claim for the windshield": the story that named it, with its when/where
            story = {kinds[0]: told, "description": without_fillers(line)}
            return {**story, **_story_details(line, text, props, today=today)}
        return {kinds[0]: told} if told == "other" and now not in (None, "other") else {}
    return {}


def story_handed_over(request: str, props: Mapping[str, Any]) -> dict[str, str]:
    """For a report of a loss: the kind of loss the request that handed the call here names ("water coming up
    through the basement drain" said to the policy team), with it as the description; {} when it names none."""
    kinds = [
        n for n, p in props.items() if param_kind(n, p) == "enum" and "other" in unwrap(p).get("enum", ())
    ]
    if len(kinds) != 1 or "description" not in props or not request.strip():
        return {}
    told = match_enum(request, [str(v) for v in unwrap(props[kinds[0]])["enum"]], bare_other=False)
    return {} if told is None else {kinds[0]: told, "description": without_fillers(request)}
