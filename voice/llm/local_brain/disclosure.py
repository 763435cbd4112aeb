"""The last gate before the brain speaks: no identifier that this call did not bring.

An identifier in a reply (a policy, claim or account number read out, "A U 4 8 2 9 1 3", "AU-482913",
"7001001", a card's "4 2 1 9") must come from this call: the caller's own words, the arguments of the calls
made for them, the results of those calls (the backend answers for the verified caller only) or the brain's
per-call memory of them. Anything else (an example value from a tool's description, another customer's
record) is someone else's data: the sentence that carries it is dropped, and a reply left empty becomes a
neutral request to repeat. Fail-closed: when in doubt the sentence is not said.

Digits decide: an identifier is known when its digits appear, in that order and together, in a digit string
of a known source. Letters alone ("A U") identify nobody.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from voice.llm.base import Message
from voice.llm.local_brain.dialog import text_of
from voice.llm.local_brain.spoken import digit_runs, tokens

MIN_DIGITS = 3
"""Fewer digits than this is a count, a day or an amount, not an identifier."""
FALLBACK = "Sorry, could you say that again?"

_SPELLED_RUN = re.compile(r"(?<![\w$])(?:[A-Za-z0-9][ ,-]+){2,}[A-Za-z0-9](?![\w])")
"""Characters read one by one: "A U 4 8 2 9 1 3", "7 0 0 1 0 0 1", "4, 2, 1, 9"."""
_CODE = re.compile(r"(?<![\w$.,])(?:[A-Za-z]{1,4}-?\d{3,}[\dA-Za-z-]*|\d{5,})(?![\w]|[.,]\d)")
"""Written identifiers: "AU-482913", "HO730155", "7001001" (not "12,800" or "899.99")."""
_SENTENCE = re.compile(r"[^.!?]+[.!?]*\s*")
_JOINED_DIGITS = re.compile(r"(?<=\d)[ -](?=\d)")


def spoken_identifiers(text: str) -> list[str]:
    """The digit strings of identifiers a reply reads out (each with at least `MIN_DIGITS` digits)."""
    found: list[str] = []
    for pattern in (_SPELLED_RUN, _CODE):
        for match in pattern.finditer(text):
            digits = "".join(c for c in match.group(0) if c.isdigit())
            if len(digits) >= MIN_DIGITS:
                found.append(digits)
    return found


def _digit_strings(text: str) -> Iterator[str]:
    """Digit runs, and the digits of each code with letters among them ("DSP-7F3A9C" gives "739", as its
    spelling "D S P 7 F 3 A 9 C" reads)."""
    joined = _JOINED_DIGITS.sub("", text)
    yield from re.findall(r"\d+", joined)
    for code in re.findall(r"[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9]", joined):
        yield "".join(c for c in code if c.isdigit())


def _said_digits(text: str) -> Iterator[str]:
    """Digit strings of what the caller said, in words or figures: "H O seven three zero one five five"
    gives "0730155" (the "O" may be a zero) and "730155"."""
    for run in digit_runs(tokens(text)):
        yield run.digits
        yield run.digits.lstrip("0")
    yield from _digit_strings(text)


def _values(value: Any) -> Iterator[str]:
    if isinstance(value, Mapping):
        for item in value.values():
            yield from _values(item)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            yield from _values(item)
    elif value is not None and not isinstance(value, bool):
        yield str(value)


def known_digits(
    messages: Sequence[Message], extra: Iterable[Any] = (), scratch: Mapping[str, Any] | None = None
) -> set[str]:
    """Digit strings this call brought: the caller's words, handover notes (the caller's request relayed),
    tool-call arguments, tool results, `extra` (the calls about to be made) and the per-call memory."""
    known: set[str] = set()
    for message in messages:
        role = message.get("role")
        text = text_of(message)
        if role == "user" or (role == "system" and text.startswith("Handed over from")):
            known.update(_said_digits(text))
        elif role == "tool":
            known.update(_digit_strings(text))
        elif role == "assistant":
            for call in message.get("tool_calls") or ():
                if isinstance(call, Mapping):
                    raw = (call.get("function") or {}).get("arguments") or ""
                    known.update(_digit_strings(raw if isinstance(raw, str) else json.dumps(raw)))
    for value in _values([list(extra), dict(scratch or {})]):
        known.update(_digit_strings(value))
    return {k for k in known if k}


def is_known(digits: str, known: Iterable[str]) -> bool:
    return any(digits in k for k in known)


def guard_reply(
    text: str,
    messages: Sequence[Message],
    *,
    extra: Iterable[Any] = (),
    scratch: Mapping[str, Any] | None = None,
) -> str:
    """`text` without the sentences that read out an identifier this call did not bring."""
    if not text or not spoken_identifiers(text):
        return text
    known = known_digits(messages, extra, scratch)
    kept: list[str] = []
    dropped = False
    for sentence in _SENTENCE.findall(text):
        if all(is_known(d, known) for d in spoken_identifiers(sentence)):
            kept.append(sentence)
        else:
            dropped = True
    if not dropped:
        return text
    reply = "".join(kept).strip()
    return reply if reply else FALLBACK
