"""What a caller's words ask about, by their wording: a question's topic ("is X covered?", "what's in my
account?"), a request in so many words ("file a claim", "from savings into checking") unless the clause denies
it, or a loss reported with its time. `router.py` adds a bonus to the tools whose descriptions answer it."""

from __future__ import annotations

import re

_QUESTION = re.compile(
    r"^(?:\W*(?:so|and|um|uh|hi|hey|okay|ok|quick question|yeah|like|well|right|hello)\W+)*"
    r"(?:how|what|what's|whats|which|when|where|why|who|"
    r"does|do|did|is|are|am|was|will|would|can|could|has|have|should)\b|\?\s*$|\bif\b|\bwondering\b|"
    r"\b(?:tell me|let me know|i (?:just |only |really )?(?:want|need|would like|'d like) to know)\b"
)
TOPICS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(
            r"\b(?:cover(?:s|ed|age)?|pay(?:s)? for|out of pocket|deductible|reimburse)\b|"
            r"\bwhat (?:about )?if\b|\bwhat happens if\b|\bwould i be\b|\bam i (?:protected|ok|okay)\b|"
            r"\bdo i (?:have|get)\b(?! (?:in|left))"
        ),
        r"\bcover|\bdeductible",
    ),
    (
        re.compile(
            r"\b(?:status|check(?:ing)? on|happening with|update on|been (?:paid|approved|processed)|where .* stand|"
            r"what happened (?:with|to)|who(?:'s| is)(?: \w+,?)? handling|heard (?:anything|back)|any news|"
            r"get paid|paid yet|end up pay(?:ing)?|how much did you pay|look(?:ed)? at (?:it|the|my)|"
            r"when (?:is|will|does) (?:somebody|someone|anyone|an adjuster|the adjuster))\b"
        ),
        r"\bstatus\b",
    ),
    (
        re.compile(
            r"\b(?:how much (?:money )?(?:is|do i have|have i got|i have|i've got)|what's in my|balance|"
            r"what(?:'s| is) (?:sitting|left|there) in|what (?:i've|i have|i|we've|we have) (?:got )?(?:in|on) (?:(?:my|the) )?(?:checking|savings|account)|"
            r"what(?:'s| is) left (?:in|on)|how much(?: money)? (?:is |do i have )?left|"
            r"what (?:does|do|did) (?:my|the) (?:checking|savings|account)(?: account)? (?:say|show|read)|"
            r"how(?:'s| is| does) (?:my|the) (?:checking|savings|account)(?: account)? look(?:ing)?|"
            r"check (?:on )?(?:my|the) (?:savings|checking|account))\b(?!,? (?:for (?!me\b|us\b)|if\b|whether\b|to see\b))"
        ),
        r"\bbalance",
    ),
    (
        re.compile(
            r"\b(?:(?:been )?(?:happening|going on) (?:in|on) (?:it|my|the|that)|(?:gone|went|come|came|coming|going) "
            r"(?:in|out|through)(?: of)? (?:it|my|the|that)|moving (?:in|through) (?:it|my|the)|movements|"
            r"(?:did|has|have|had|'ve|was|were)\b[^.?!]{0,40}\b(?:pay|paid|put|deposit|deposited|credit|credited)\b"
            r"[^.?!]{0,30}\b(?:into|in|to) (?:my|the) (?:savings|checking|account))\b"
        ),
        r"\brecent transactions\b",
    ),
)
"""(what a question asks about, what a tool's description says when it answers that)."""
_FILING = r"\bfile a new claim|\breport a new\b"
_ACCOUNT = r"(?:(?:my|the) )?(?:savings|checking|current)(?: account)?"
REQUESTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        # Money sent from one account into the other, whatever the verb ("pop 300 over from savings into ...").
        re.compile(rf"\b(?:from|out of) {_ACCOUNT} (?:(?:in)?to|over to|across to|onto) {_ACCOUNT}\b"),
        r"\bmove money between\b|\btransfers\b",  # or the handoff to the agent that does transfers
    ),
    (
        # "I wanted to check on my checking", "check my savings for me": how much is there, said as a request
        # (looking for something in it, "check my checking for a charge", is a search of its transactions).
        re.compile(
            r"\bcheck (?:on |in )?(?:my|the) (?:savings|checking|current)(?: account)?\b"
            r"(?!,? (?:for (?!me\b|us\b)|if\b|whether\b|to see\b))"
        ),
        r"\bbalance",
    ),
    (
        # The card itself taken, lost or left behind ("somebody lifted my wallet, card and all"): the team that
        # locks and replaces cards, not the one that reviews charges (its number misused is fraud's).
        re.compile(
            r"\b(?:stole|stolen|lifted|snatched|pinched|swiped|nicked|pickpocketed|robbed|mugged|took|taken|lost)\b"
            r"(?:(?!\b(?:number|details|info|information)\b)[^.?!]){0,40}\b(?:wallet|purse|handbag|bag|cards?)\b"
            r"(?! (?:number|details|info))|"
            r"\b(?:wallet|purse|handbag|cards?)\b[^.?!]{0,30}\b(?:stolen|lifted|snatched|taken|gone|missing)\b"
        ),
        r"\bit was stolen\b",
    ),
    (
        # "go ahead and send the replacement", "mail me a new card": a new card, whichever agent hears it.
        re.compile(
            r"\b(?:send|mail|ship|post|order|issue|get)(?: (?:me|us|out|over))? (?:a |the |my |that )?"
            r"(?:(?:new|replacement) (?:card|one)|replacements?)\b|"
            r"\b(?:a|the) replacement(?: card)?(?: would be| sounds| is fine| works| please)\b"
        ),
        r"\breplacement\b",
    ),
    (
        re.compile(
            r"\b(?:file|start|open|make|submit|lodge|put in)\b (?:a |the |my )?(?:that|it|this|claim|one)\b|"
            r"\b(?:want|need|like) to report\b"
        ),
        _FILING,
    ),
    (
        re.compile(
            r"(?<!to )\b(?:filed|submitted|opened|put in|reported) (?:a|the|my|that) claim\b|\bmy claim number\b"
        ),
        r"\bstatus\b",  # about a claim already filed: where it stands, not a new one
    ),
    (
        re.compile(
            r"\b(?:didn't|did not|never) (?:make|made|buy|bought|authori[sz]e|authori[sz]ed|shop|shopped)\b|"
            r"\b(?:don't|do not|didn't) recogni[sz]e\b|\bnot mine\b|\b(?:wasn't|was not|isn't|is not) (?:me|us|mine|ours)\b|"
            r"\b(?:haven't|have not|never) (?:even )?(?:been (?:to|in)|set foot)\b|"
            r"\b(?:somebody|someone)(?:'s| has| is)? (?:got|using|used) my card\b"
        ),
        r"\brecogni[sz]e\b|\bsuspicious\b",
    ),
)
"""(what a caller asks for in so many words, asked or said, what a tool's description says when it does that)."""


_DENIAL = re.compile(
    r"\b(?:don't|do not|doesn't|does not|won't|will not|not|never) (?:\w+ )?(?:want|need|wish|plan|intend|mean)\b|"
    r"\bno need to\b|\b(?:don't|do not|won't|will not|never|not|no need to|no)\s*$"
)
"""A clause that says the caller does not want what follows ("I don't want to move anything ...")."""
_CLAUSE_START = re.compile(r".*(?:[.,;!?]|\bbut\b|\bjust\b)", re.DOTALL)


def _denied(norm: str, start: int) -> bool:
    """Whether the clause before a request's words denies it ("I don't want to move anything from savings to
    checking"). A request that is itself a denial (a charge "I didn't make") starts at its own negation."""
    before = norm[:start]
    clause = before[m.end() :] if (m := _CLAUSE_START.match(before)) else before
    return _DENIAL.search(clause) is not None


def asks_in_so_many_words(text: str) -> bool:
    """Whether the caller names what they want ("can I file that?", "what's the deductible?"): it outweighs a
    slot the same words fill."""
    norm = text.lower()
    if any((said := asks.search(norm)) and not _denied(norm, said.start()) for asks, _ in REQUESTS):
        return True
    return _QUESTION.search(norm) is not None and any(asks.search(norm) for asks, _ in TOPICS)


_INCIDENT_TIME = re.compile(
    r"\b(?:this (?:morning|afternoon|evening)|last night|yesterday|earlier today|just now|an hour ago|"
    r"(?:a few|two|three|\d+) (?:hours|days) ago|on (?:monday|tuesday|wednesday|thursday|friday|saturday|sunday))\b"
)
_ABOUT_A_FILED_CLAIM = re.compile(
    r"(?<!to )\b(?:filed|submitted|made|opened|put in|reported) (?:a|the|my|that) claim\b|\bclaim number\b|"
    r"\bstatus\b"
)
"""A statement (no question) that something happened at a time is a report of a loss, however much it shares
with a coverage question's words ("the basement drain backed up this morning") — unless it is about a claim
already filed."""
_HARM_DONE = re.compile(
    r"\b(?:bit|bitten|nipped|scratched|knocked (?:down|over)) (?:the|a|an|our|his|her|their|someone|somebody|"
    r"my (?:neighbou?r|friend|guest|visitor))\b|\b(?:needed|got|had) (?:\w+ ){0,3}stitches\b|"
    r"\b(?:tripped|slipped|fell) (?:on|over|down) (?:my|our|the) (?:steps|stairs|porch|driveway|ice|floor|rug)\b"
)
"""A statement that someone got hurt by the caller's dog or on their property, with no time said: a loss being
reported too ("he nipped the mail carrier and she needed stitches")."""
_SENTENCES = re.compile(r"(?<=[.?!])\s+")
_CLAUSES = re.compile(r"(?<=[.?!,;])\s+")
_ASKED_AFTER = re.compile(r"(?:is|are|does|do|did|would|will|am|was|were|can|could)\s+[a-z]+\b")
"""A later clause that asks ("the window got smashed, is that covered"): a question when it names a topic."""


def _asks_later(norm: str) -> bool:
    """Whether a sentence after the first, or a clause after a comma that asks about a topic, is a question."""
    if any(_QUESTION.match(s) for s in _SENTENCES.split(norm)[1:]):
        return True
    return any(
        _ASKED_AFTER.match(c) and any(asks.search(c) for asks, _ in TOPICS) for c in _CLAUSES.split(norm)[1:]
    )


def answered_by(text: str) -> list[str]:
    """Patterns of the tool descriptions that answer what `text` asks (a question's topic) or asks for in so
    many words, or that file the loss it reports."""
    norm = text.lower()
    question = _QUESTION.search(norm) is not None
    answered: list[str] = [
        answers
        for asks, answers in REQUESTS
        if (said := asks.search(norm)) and not _denied(norm, said.start())
    ]
    if _ABOUT_A_FILED_CLAIM.search(norm):
        answered = [a for a in answered if a != _FILING]  # "i put in a claim last month": not a new one
    # "the drain backed up last night. is that even covered?": what happened, then a question about it
    later = not question and _asks_later(norm)
    asked = [answers for asks, answers in TOPICS if asks.search(norm)] if question or later else []
    answered += asked
    if question or asked:
        pass
    elif (_INCIDENT_TIME.search(norm) or _HARM_DONE.search(norm)) and not _ABOUT_A_FILED_CLAIM.search(norm):
        answered.append(_FILING)
    return answered
