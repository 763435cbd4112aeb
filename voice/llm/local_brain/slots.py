"""What the local brain asks and says around a tool: slot questions, their order, confirmations, the offer
list, and which parameters a tool's description or an error message talks about.

Everything is derived from the tool's schema and descriptions so that a new YAML agent with new tools works
without code; a few common parameter names get hand-written questions because they read better on the phone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from registries.toolstore.decorator import ToolSpec
from registries.toolstore.shapes import example_shape
from voice.llm.local_brain.params import param_kind, unwrap
from voice.llm.local_brain.spoken import normalize

SLOT_QUESTIONS: dict[str, str] = {
    "full_name": "Can I have your first and last name?",
    "account_last4": "What are the last four digits of one of your accounts? Or you can tell me your date of birth.",
    "card_last4": "What are the last four digits of the card?",
    "date_of_birth": "What's your date of birth?",
    "policy_number": "What's your policy number?",
    "claim_number": "What's the claim number?",
    "incident_date": "What day did it happen?",
    "location": "Where did it happen?",
    "description": "Can you tell me briefly what happened?",
    "amount": "How much would you like to move?",
    "from_account": "Which account should the money come out of, checking or savings?",
    "to_account": "Which account should the money go into, checking or savings?",
}

CARRY_PARAMS = frozenset(
    {"policy_number", "claim_number", "full_name", "date_of_birth", "account_last4", "card_last4"}
)
"""Values worth remembering across turns of one agent: once the caller gave their policy number, the next
tool that needs it reuses it instead of asking again."""


def creates_record(spec: ToolSpec) -> bool:
    """A tool that files something new (a claim, a case): its reference numbers are confirmed before it runs
    even when the caller gave everything at once. Read by the verb of its name (file_claim, open_case)."""
    return spec.name.split("_", 1)[0] in {"file", "open", "create", "submit", "report", "register"}


def amends_a_record(spec: ToolSpec) -> bool:
    """A tool that corrects a record filed earlier (correct_claim, amend_order), read by the verb of its name."""
    return spec.name.split("_", 1)[0] in {"correct", "amend", "update"}


def reads_only(spec: ToolSpec) -> bool:
    """A tool that only looks something up and answers (its description starts "Look up", "List", "Read",
    "Tell whether", "Find"): asking it once more for another value changes nothing."""
    return re.match(r"(?:look up|list|read|tell|find|show)\b", spec.description.strip(), re.I) is not None


FREE_KINDS = frozenset({"reason", "description", "text", "place", "merchant"})
"""Parameter kinds whose value is the caller's own words (never a correction of a number or a choice)."""
ANYTHING_ELSE = "Is there anything else I can help you with?"


CALL_CONTROL = frozenset({"transfer_to_human", "end_call"})
"""Tools the reprompt does not offer as capabilities (every agent has them)."""

NOT_OFFERED = CALL_CONTROL | {"verify_identity", "confirm_transaction"}

LOOKUP_FIRST: dict[str, str] = {"policy_number": "lookup_policy"}
"""Parameter -> tool that confirms it as soon as the caller says it, while other slots are still missing (the
claims prompt: "Confirm the policy with lookup_policy as soon as you have the number"). A misheard number is
caught before the caller describes the whole accident."""


def required(spec: ToolSpec) -> list[str]:
    return [str(n) for n in spec.parameters.get("required", ())]


def properties(spec: ToolSpec) -> Mapping[str, Any]:
    props: Mapping[str, Any] = spec.parameters.get("properties", {})  # `parameters` is an untyped JSON schema
    return props


def missing_slots(spec: ToolSpec, args: Mapping[str, Any]) -> list[str]:
    """Required parameters without a value, in the order they are asked: identifiers first, then what happened
    (its answer often fills the rest), the others in schema order, enums and yes/no last."""
    props = properties(spec)

    def rank(name: str) -> int:
        kind = param_kind(name, props.get(name, {}))
        if kind in ("identifier", "last4", "name"):
            return 0
        if kind == "description":
            return 1
        if kind in ("enum", "bool"):
            return 3
        return 2

    names = [n for n in required(spec) if n not in args]
    return sorted(names, key=lambda n: (rank(n), list(props).index(n) if n in props else 99))


def either_group(spec: ToolSpec, args: Mapping[str, Any]) -> list[str]:
    """Optional parameters of which the description says one is needed ("and either the last four digits
    of one of their accounts or their date of birth"), when none of them has a value."""
    match = re.search(r"\beither\b([^.]*)\bor\b([^.]*)", spec.description)
    if not match:
        return []
    said = normalize(match.group(0))
    group = [
        name
        for name in properties(spec)
        if name not in required(spec)
        and any(re.search(rf"\b{w}", said) for w in _name_words(name))
        and sum(bool(re.search(rf"\b{w}", said)) for w in _name_words(name)) * 2 >= len(_name_words(name))
    ]
    return group if len(group) >= 2 and not any(n in args for n in group) else []


def _name_words(name: str) -> list[str]:
    """A parameter name as words a sentence would use ("account_last4" -> account, last, four)."""
    words = name.replace("last4", "last_four").split("_")
    return [w for w in words if w and w not in {"of", "the", "id"}]


def mentioned(spec: ToolSpec, message: str) -> list[str]:
    """Parameters an error message talks about ("I also need ... the last four digits of one of your accounts
    or your date of birth" -> account_last4, date_of_birth), the best-covered ones first."""
    said = normalize(message)
    scored: list[tuple[float, str]] = []
    for name in properties(spec):
        words = _name_words(name)
        hits = sum(bool(re.search(rf"\b{re.escape(w)}", said)) for w in words)
        if words and hits:
            scored.append((hits / len(words), name))
    if not scored:
        return []
    best = max(score for score, _ in scored)
    return [name for score, name in scored if score == best]


def slot_question(spec: ToolSpec, name: str) -> str:
    """One natural question for a missing parameter."""
    if name in SLOT_QUESTIONS:
        return SLOT_QUESTIONS[name]
    prop = unwrap(properties(spec).get(name, {}))
    kind = param_kind(name, prop)
    if kind == "enum":
        values = [str(v).replace("_", " ") for v in prop.get("enum", ())]
        if 2 <= len(values) <= 5:
            return f"Was it {', '.join(values[:-1])} or {values[-1]}?"
    if kind == "bool":
        return "Is that a yes or a no?"
    description = str(prop.get("description", "")).strip()
    if description.lower().startswith("why "):  # "Why the caller disputes the charge." -> "Why do you ...?"
        clause = re.split(r"[,;:(]|\.\s|\.$", description, maxsplit=1)[0]
        return "Why do " + _second_person(clause[4:]).strip() + "?"
    phrase = _noun_phrase(description)
    if phrase:
        return f"What's {phrase}?"
    return f"What's the {name.replace('_', ' ')}?"


def slot_label(name: str) -> str:
    """A short name for the slot in "Sorry, I still didn't get the policy number"."""
    return name.replace("last4", "last four digits").replace("_", " ")


def _noun_phrase(description: str) -> str:
    """ "The policy number, like AU-482913." -> "the policy number"; "The kind of coverage the caller asks
    about." -> "the kind of coverage you're asking about"."""
    text = re.split(r"[,;:(]|\.\s|\.$| like | e\.g\.", description, maxsplit=1)[0].strip()
    if not text.lower().startswith(("the ", "a ", "an ", "your ")):
        return ""
    return _second_person(text[0].lower() + text[1:])


def _second_person(text: str) -> str:
    text = re.sub(r"\b(?:one|two|any) of the caller's(?: own)?\b", "your", text)
    text = re.sub(r"\bthe caller's\b", "your", text)
    text = re.sub(r"\bthe caller asks\b", "you're asking", text)
    text = re.sub(r"\bthe caller (?:is|was)\b", "you're", text)
    text = re.sub(r"\bthe caller has\b", "you have", text)
    text = re.sub(r"\bthe caller (\w+?)s\b", r"you \1", text)  # "the caller needs" -> "you need"
    return re.sub(r"\bthe caller\b", "you", text)


def needs_confirmation(spec: ToolSpec) -> bool:
    """Tools whose description asks to confirm with the caller first (money movements)."""
    return (
        re.search(r"\bconfirm\b[^.]*\bwith the caller first\b", spec.description, re.IGNORECASE) is not None
    )


def confirmation_question(spec: ToolSpec, args: Mapping[str, Any]) -> str:
    """ "Just to confirm: move 500 dollars from your checking to your savings. Shall I go ahead?"."""
    if {"amount", "from_account", "to_account"} <= set(args):
        amount = args["amount"]
        money = f"{amount:,.2f}".removesuffix(".00") if isinstance(amount, int | float) else str(amount)
        return (
            f"Just to confirm, you'd like to move {money} dollars from your {args['from_account']} "
            f"to your {args['to_account']}. Shall I go ahead?"
        )
    action = capability(spec) or spec.name.replace("_", " ")
    details = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in args.items() if v not in (None, ""))
    return f"Just to confirm, {action}{f' with {details}' if details else ''}. Shall I go ahead?"


_GERUND_EXCEPTIONS = {"get": "getting", "put": "putting", "set": "setting", "stop": "stopping"}


def _gerund(verb: str) -> str:
    verb = verb.lower()
    if verb in _GERUND_EXCEPTIONS:
        return _GERUND_EXCEPTIONS[verb]
    if verb.endswith("ie"):
        return verb[:-2] + "ying"
    if verb.endswith("e") and not verb.endswith(("ee", "ye", "oe")):
        return verb[:-1] + "ing"
    return verb + "ing"


def capability(spec: ToolSpec) -> str:
    """A tool's description as a short spoken capability: "Look up the current balance of one of the
    caller's accounts." -> "looking up the current balance of your accounts"."""
    first = re.split(r"(?<=[.!?])\s|\n", spec.description.strip(), maxsplit=1)[0].rstrip(".")
    first = re.split(
        r",| so | when | once | by | before | that | which | who | \(|:| with | right away", first, maxsplit=1
    )[0]
    words = _second_person(first).split()
    if not words:
        return ""
    words[0] = _gerund(words[0])
    return " ".join(words[:9])


def offer(tools: Sequence[ToolSpec], limit: int = 4) -> str:
    """ "I can help with A, B or C." from the agent's own tools (not handoffs or call control)."""
    phrases = [capability(t) for t in tools if t.handoff is None and t.name not in NOT_OFFERED]
    phrases = [p for p in phrases if p][:limit]
    if not phrases:
        return "How can I help you?"
    if len(phrases) == 1:
        return f"I can help with {phrases[0]}."
    return f"I can help with {', '.join(phrases[:-1])} or {phrases[-1]}."


_WHERE_TO_FIND = re.compile(
    r"\b(?:where|how) (?:do|would|can|could|should) i (?:even )?(?:find|get|look|see|locate)\b|"
    r"\bwhere (?:is|would|can) (?:it|that|i find)\b|\bwhat does (?:it|that|one) look like\b|"
    r"\bwhere(?:'s| is) (?:my|the) \w+ number\b"
)


_COUNT_WORDS = (
    "",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
)


def shape_in_words(shape: str) -> str | None:
    """ "LL-DDDDDD" -> "two letters and six digits": what an identifier looks like, never a real value."""
    groups: list[tuple[str, int]] = []
    for c in shape:
        kind = "letter" if c == "L" else "digit" if c == "D" else ""
        if not kind:
            continue
        if groups and groups[-1][0] == kind:
            groups[-1] = (kind, groups[-1][1] + 1)
        else:
            groups.append((kind, 1))
    if not groups or any(n >= len(_COUNT_WORDS) for _, n in groups):
        return None
    parts = [f"{_COUNT_WORDS[n]} {kind}{'s' if n > 1 else ''}" for kind, n in groups]
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


def slot_hint(spec: ToolSpec, slots: Sequence[str], text: str) -> str | None:
    """What to say when the caller asks where to find what was just asked for ("where do I even find the
    policy number?"): what it looks like in words ("two letters and six digits"), from the shape of its
    description's example; the question then stands. The example's value itself is never read out: it may be
    a real customer's."""
    if not slots or not _WHERE_TO_FIND.search(normalize(text)):
        return None
    description = str(unwrap(properties(spec).get(slots[0], {})).get("description", ""))
    shape = example_shape(description)
    words = shape_in_words(shape) if shape else None
    if words is None:
        return "Take your time."
    return f"Take your time. It's on your documents, and it's {words}."


_WHY_NEEDED = re.compile(
    r"\bwhy (?:do|would|does|should) (?:you|i|it|they) (?:even |really )?(?:need|want|ask|have to|got to)\b|"
    r"\bwhat do you (?:even )?need (?:it|that|this|my [a-z]+(?: [a-z]+)?|the [a-z]+(?: [a-z]+)?) for\b|"
    r"\b(?:can't|cannot|couldn't) you (?:just )?(?:look|find|see|pull|use)\b"
)
WHY_WE_ASK = "I need it to find the right records for you, and it keeps your details safe."


def asks_why_needed(text: str) -> bool:
    """Whether the caller asks why the detail just asked for is needed ("why do you need my name?", "can't you
    look me up by name?"): the question stands, after the reason."""
    return _WHY_NEEDED.search(normalize(text)) is not None
