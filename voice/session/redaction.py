"""PII masking for what a call leaves behind: the stored transcript and the call events (call records, live
dashboards). Pure functions; the recorder applies them to each turn just before it is written and published,
never to the conversation the brain reads or to what tools are given.

What is masked (each a `RedactionKind` a scenario may switch off):
- card: 13-19 digit numbers passing the Luhn check, written or spoken ("four one one one ...") ->
  `[card ••••1111]` (the last four stay: they name the card, as the agent does, and PCI DSS allows showing
  them); a security code said as one ("CVV", "security code") -> `[card code]`.
- account: runs of 6+ digits said about an account (account, checking, savings, routing, policy, member),
  and a last four ("last four ... 4821", "account ending in 4821", not about a card) -> `[account]`, with no
  digits kept: in this product an account's last four is an identity check (verify_identity).
- ssn: NNN-NN-NNNN anywhere, 9 digits (or a last four) said about a social security number -> `[ssn]`.
- dob: a date said after "born", "date of birth", "birthday", "DOB" -> `[dob]`.
- dtmf: a caller's keyed digits (a turn of kind "dtmf") -> `[dtmf]`.
- sensitive_tools: the arguments and results of tools marked `@tool(sensitive=True)` (every field) or
  `sensitive_fields=(...)` (those keys, at any depth) -> `"[redacted]"`. Other tools' text values get the
  text rules above.
Names said in free speech are not detected (they are masked where a sensitive tool takes them).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from registries.scenariostore.schema import REDACTION_KINDS, RedactionKind, RedactionSpec
from registries.toolstore.decorator import ToolSpec
from voice.llm.local_brain.dates import parse_date
from voice.llm.local_brain.spoken import DigitRun, digit_runs, tokens
from voice.transcript import ToolCallRecord, TranscriptTurn

REDACTED = "[redacted]"
DTMF = "[dtmf]"
SSN = "[ssn]"
DOB = "[dob]"
ACCOUNT = "[account]"
CARD_CODE = "[card code]"


def card_placeholder(number: str) -> str:
    return f"[card ••••{number[-4:]}]"


@dataclass(frozen=True)
class RedactionPolicy:
    """Which kinds of PII are masked in a call's stored turns and events. On, for every kind, by default."""

    enabled: bool = True
    kinds: frozenset[RedactionKind] = frozenset(REDACTION_KINDS)

    def covers(self, kind: RedactionKind) -> bool:
        return self.enabled and kind in self.kinds

    def for_scenario(self, spec: RedactionSpec | None) -> RedactionPolicy:
        """The scenario's own policy when its YAML sets `redaction:`, else this one (the default)."""
        if spec is None:
            return self
        return RedactionPolicy(enabled=spec.enabled, kinds=frozenset(spec.kinds))


REDACT_ALL = RedactionPolicy()
REDACTION_OFF = RedactionPolicy(enabled=False)

ToolLookup = Callable[[str], ToolSpec | None]


# --- turns and tool calls -------------------------------------------------------------------------------
def redact_turn(
    turn: TranscriptTurn,
    policy: RedactionPolicy,
    tool_spec: ToolLookup,
    *,
    mask_text: Callable[[str], str] | None = None,
) -> TranscriptTurn:
    """`turn` as it may be stored and published under `policy` (`tool_spec` finds a tool's flags by name).
    `mask_text`: `redact_text` under `policy`, as the caller keeps it (a recorder remembers its last text)."""
    if not policy.enabled:
        return turn
    if turn.speaker == "caller" and turn.kind == "dtmf" and policy.covers("dtmf"):
        return turn.model_copy(update={"text": DTMF})
    mask = mask_text if mask_text is not None else functools.partial(redact_text, policy=policy)
    text = mask(turn.text)
    update: dict[str, Any] = {"text": text}
    if turn.full_text is not None:  # a reply heard whole has the same text twice: masked once
        update["full_text"] = text if turn.full_text == turn.text else mask(turn.full_text)
    if turn.tool_calls:
        update["tool_calls"] = tuple(
            redact_tool_call(call, tool_spec(call.name), policy) for call in turn.tool_calls
        )
    return turn.model_copy(update=update)


def masked_entirely(turn: TranscriptTurn) -> TranscriptTurn:
    """What to keep of a turn whose redaction failed: its shape, none of its words or tool data."""
    return turn.model_copy(
        update={
            "text": REDACTED,
            "full_text": REDACTED if turn.full_text is not None else None,
            "tool_calls": tuple(
                call.model_copy(update={"arguments": REDACTED, "output": {}, "error": None})
                for call in turn.tool_calls
            ),
        }
    )


def redact_tool_call(
    record: ToolCallRecord, spec: ToolSpec | None, policy: RedactionPolicy
) -> ToolCallRecord:
    """A tool call's record with its sensitive fields as `"[redacted]"` and PII masked in its other text."""
    if not policy.enabled:
        return record
    flags = spec if policy.covers("sensitive_tools") else None
    whole = flags is not None and flags.sensitive
    fields = flags.sensitive_fields if flags is not None else frozenset[str]()
    arguments: dict[str, Any] | str
    if isinstance(record.arguments, str):  # the model's unparsable text: no fields to pick out
        arguments = REDACTED if whole or fields else redact_text(record.arguments, policy)
    else:
        arguments = _redact_fields(record.arguments, policy, whole=whole, fields=fields)
    return record.model_copy(
        update={
            "arguments": arguments,
            "output": _redact_fields(record.output, policy, whole=whole, fields=fields),
            "error": redact_text(record.error, policy) if record.error else record.error,
        }
    )


def _redact_fields(
    values: dict[str, Any], policy: RedactionPolicy, *, whole: bool, fields: frozenset[str]
) -> dict[str, Any]:
    return {
        key: REDACTED if whole or key in fields else _redact_value(value, policy, fields)
        for key, value in values.items()
    }


def _redact_value(value: Any, policy: RedactionPolicy, fields: frozenset[str]) -> Any:
    if isinstance(value, dict):
        return _redact_fields(value, policy, whole=False, fields=fields)
    if isinstance(value, list | tuple):
        return [_redact_value(item, policy, fields) for item in value]
    if isinstance(value, str):
        return redact_text(value, policy)
    return value


# --- text ------------------------------------------------------------------------------------------------
_SSN_RE = re.compile(r"(?<![\d-])\d{3}-\d{2}-\d{4}(?![\d-])")
_TRAILING_COMMA_RE = re.compile(r"(?<=\d),(?!\d)")
_CARD_CUES = {"card", "cards", "visa", "mastercard", "amex", "debit", "credit"}
_ACCOUNT_CUES = {"account", "accounts", "acct", "checking", "savings", "routing", "iban", "policy", "member"}
_CODE_CUES = {"cvv", "cvc", "cvv2", "cvc2"}
_JOINERS = {",", ";", "dash", "hyphen"}  # "4111, 1111, ..." is one number
_SENTENCE_ENDS = {".", "?", "!"}
_MONEY = {"dollar", "dollars", "bucks", "cents"}
_DOB_CUES = {"born", "birth", "birthday", "birthdate", "dob"}
_DOB_FILLERS = {"is", "was", "on", "the", "it's", "its", "it", "date", "in", "of", ":", ",", "um", "uh"}
_CONTEXT_BEFORE = 8  # tokens a cue may stand before a number ("the last four of my account are ...")
_CONTEXT_AFTER = 4  # ... or after it ("4821 is my account")
_DATE_TOKENS = 9  # the longest date said in words: "the twenty third of november nineteen seventy eight"


@dataclass(frozen=True, slots=True)
class _Text:
    """`text` split into the spoken-number helpers' tokens, with where each token is in `text`."""

    text: str
    toks: list[str]
    spans: list[tuple[int, int]]

    @classmethod
    def of(cls, text: str) -> _Text:
        # Characters whose lower case is longer ("İ") would shift every position after them: blank them.
        safe = "".join(c if len(c.lower()) == 1 else " " for c in text)
        # A number's token takes the comma after it ("4821," is not digits): make it a mark of its own.
        safe = _TRAILING_COMMA_RE.sub(";", safe)
        folded = safe.lower().replace("’", "'")
        toks = tokens(safe)
        spans: list[tuple[int, int]] = []
        cursor = 0
        for tok in toks:  # tokens never span whitespace and come in order, so each is found after the last
            at = folded.find(tok, cursor)
            if at < 0:
                break
            spans.append((at, at + len(tok)))
            cursor = at + len(tok)
        return cls(text, toks[: len(spans)], spans)

    def chars(self, start: int, end: int) -> tuple[int, int]:
        """Character range of tokens [start, end)."""
        return self.spans[start][0], self.spans[end - 1][1]


def redact_text(text: str, policy: RedactionPolicy, *, today: date | None = None) -> str:
    """`text` with the PII kinds `policy` covers replaced by typed placeholders."""
    if not policy.enabled or not text:
        return text
    found: list[tuple[int, int, str]] = []  # (start, end, placeholder), first found wins an overlap
    if policy.covers("ssn"):
        found.extend((m.start(), m.end(), SSN) for m in _SSN_RE.finditer(text))
    parsed = _Text.of(text)
    groups = _number_groups(parsed.toks)
    if policy.covers("dob"):
        found.extend(_dates_of_birth(parsed, groups, today or date.today()))
    for group in groups:
        found.extend(_numbers(parsed, group, policy))
    return _replace(text, found)


def _replace(text: str, found: Sequence[tuple[int, int, str]]) -> str:
    kept: list[tuple[int, int, str]] = []
    for start, end, placeholder in found:
        if all(end <= s or start >= e for s, e, _ in kept):
            kept.append((start, end, placeholder))
    out, cursor = [], 0
    for start, end, placeholder in sorted(kept):
        out += [text[cursor:start], placeholder]
        cursor = end
    return "".join([*out, text[cursor:]])


def _number_groups(toks: Sequence[str]) -> list[list[DigitRun]]:
    """Digit runs, those separated only by commas or "dash" grouped as one number's parts."""
    groups: list[list[DigitRun]] = []
    for run in digit_runs(toks):
        if groups and all(tok in _JOINERS for tok in toks[groups[-1][-1].end : run.start]):
            groups[-1].append(run)
        else:
            groups.append([run])
    return groups


def _numbers(parsed: _Text, group: list[DigitRun], policy: RedactionPolicy) -> list[tuple[int, int, str]]:
    """The numbers of `group` to mask: the whole group, else its longest parts that are PII on their own
    (a card number followed by an expiry date, say)."""
    found: list[tuple[int, int, str]] = []
    covered: set[int] = set()
    for size in range(len(group), 0, -1):
        for first in range(len(group) - size + 1):
            part = range(first, first + size)
            if covered.intersection(part):
                continue
            runs = group[first : first + size]
            placeholder = _classify(parsed.toks, runs, policy)
            if placeholder is not None:
                found.append((*parsed.chars(runs[0].start, runs[-1].end), placeholder))
                covered.update(part)
    if policy.covers("card"):
        for i, run in enumerate(group):
            if i not in covered and len(run.digits) > 19:
                found.extend(_cards_inside(parsed, run))
    return found


def _cards_inside(parsed: _Text, run: DigitRun) -> list[tuple[int, int, str]]:
    """Card numbers inside a run too long to be one ("4111 1111 1111 1111 12 27"), longest first."""
    found: list[tuple[int, int, str]] = []
    taken: set[int] = set()
    for size in range(run.end - run.start - 1, 0, -1):
        for first in range(run.start, run.end - size + 1):
            if taken.intersection(range(first, first + size)):
                continue
            number = "".join(r.digits for r in digit_runs(parsed.toks[first : first + size]))
            if 13 <= len(number) <= 19 and luhn_valid(number):
                found.append((*parsed.chars(first, first + size), card_placeholder(number)))
                taken.update(range(first, first + size))
    return found


def _classify(toks: Sequence[str], runs: Sequence[DigitRun], policy: RedactionPolicy) -> str | None:
    number = "".join(run.digits for run in runs)
    start, end = runs[0].start, runs[-1].end
    cue = _context(toks, start, end)
    # Said about a card, a misheard digit (failing Luhn) must not leave the number in clear.
    if policy.covers("card") and 13 <= len(number) <= 19 and (luhn_valid(number) or cue == "card"):
        return card_placeholder(number)
    # "last four" said: a number of four or more digits is that last four (a misheard extra digit included).
    last_four = len(number) >= 4 and _said_last_four(toks, start)
    if cue == "ssn":
        return SSN if policy.covers("ssn") and (len(number) == 9 or last_four) else None
    if cue == "code":
        return CARD_CODE if policy.covers("card") and len(number) in (3, 4) else None
    if not policy.covers("account") or cue == "card":
        return None
    if cue == "account" and len(number) >= 6 and not (end < len(toks) and toks[end] in _MONEY):
        return ACCOUNT
    return ACCOUNT if last_four else None


def luhn_valid(number: str) -> bool:
    """The Luhn checksum every card number carries (so a 16-digit reference number is not a card)."""
    total = 0
    for i, ch in enumerate(reversed(number)):
        digit = int(ch) * (2 if i % 2 else 1)
        total += digit - 9 if digit > 9 else digit
    return total % 10 == 0


def _cue(toks: Sequence[str], i: int) -> str | None:
    """What a number near toks[i] would be about: card, code, account, ssn, or None."""
    tok = toks[i]
    nxt = toks[i + 1] if i + 1 < len(toks) else None
    if tok in {"social", "ssn"}:
        return "ssn"
    if tok in _CODE_CUES or (tok == "security" and nxt == "code"):
        return "code"
    if tok in _CARD_CUES:
        return "card"
    if tok in _ACCOUNT_CUES:
        return "account"
    return None


def _context(toks: Sequence[str], start: int, end: int) -> str | None:
    """The nearest cue before the number (same sentence), else the nearest one just after it."""
    for i in range(start - 1, max(-1, start - 1 - _CONTEXT_BEFORE), -1):
        if toks[i] in _SENTENCE_ENDS:
            break
        if (cue := _cue(toks, i)) is not None:
            return cue
    for i in range(end, min(len(toks), end + _CONTEXT_AFTER)):
        if toks[i] in _SENTENCE_ENDS:
            break
        if (cue := _cue(toks, i)) is not None:
            return cue
    return None


def _said_last_four(toks: Sequence[str], start: int) -> bool:
    """ "last four (digits of my account are)", "ending in", "ends with" shortly before `start`."""
    for i in range(start - 1, max(0, start - 1 - _CONTEXT_BEFORE), -1):
        pair = (toks[i - 1], toks[i])
        if pair in {("last", "four"), ("last", "4"), ("last", "digits")} or (
            pair[0] in {"ending", "ends", "end"} and pair[1] in {"in", "with"}
        ):
            return True
    return False


def _dates_of_birth(
    parsed: _Text, groups: Sequence[list[DigitRun]], today: date
) -> list[tuple[int, int, str]]:
    toks, found = parsed.toks, []
    for i, tok in enumerate(toks):
        if tok not in _DOB_CUES:
            continue
        start = i + 1
        while start < len(toks) and start <= i + 4 and toks[start] in _DOB_FILLERS:
            start += 1
        if start >= len(toks):
            continue
        end = _date_end(parsed, start, today) or _digits_end(groups, start)
        if end is not None:
            found.append((*parsed.chars(start, end), DOB))
    return found


def _date_end(parsed: _Text, start: int, today: date) -> int | None:
    """Where a date said from token `start` ends: the longest reading that still changes the date
    ("july second nineteen ninety" -> "... five" makes it 1995; "... and" changes nothing)."""
    end, found = None, None
    for stop in range(start + 1, min(len(parsed.toks), start + _DATE_TOKENS) + 1):
        if parsed.toks[stop - 1] in _SENTENCE_ENDS:
            break
        day = _date_in(parsed, start, stop, today)
        # The date must start at `start`: "Ohio ... yesterday" reads the same without "Ohio".
        if day is not None and day != found and day != _date_in(parsed, start + 1, stop, today):
            end, found = stop, day
    return end


def _date_in(parsed: _Text, start: int, stop: int, today: date) -> date | None:
    if start >= stop:
        return None
    first, last = parsed.chars(start, stop)
    return parse_date(parsed.text[first:last], today=today)


def _digits_end(groups: Sequence[list[DigitRun]], start: int) -> int | None:
    """A date of birth said as bare digits ("zero three one four eighty five", a year) from token `start`."""
    for group in groups:
        if group[0].start == start and 4 <= len("".join(run.digits for run in group)) <= 8:
            return group[-1].end
    return None
