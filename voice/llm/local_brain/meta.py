"""Utterances about the conversation itself, not about a request: "hold on", "say that again", "what can you
do?", "that's all, bye", "get me a person". They are recognised by their wording (pure functions), before any
slot filling, so that they are never taken as a name, a number or an enum answer, and so that the actions
that cannot be undone (ending the call, transferring it) need the caller to have said so in as many words:
an utterance that is merely *closest* to a goodbye example is not a goodbye.
"""

from __future__ import annotations

import re
from enum import Enum

from voice.llm.local_brain.digit_fixes import tail_correction
from voice.llm.local_brain.spoken import digit_runs, normalize, tokens


class Meta(Enum):
    HOLD = "hold"
    REPEAT = "repeat"
    CAPABILITIES = "capabilities"
    GOODBYE = "goodbye"
    HUMAN = "human"


_FILLER = r"(?:(?:uh|um|er|oh|okay|ok|so|well|yeah|yes|no|sorry|actually|just|and|but|hey|hi|hello),?\s+)*"
_HOLD = re.compile(
    rf"^{_FILLER}(?:(?:can|could|would|will) you (?:please |just )?)?(?:hold on|hang on|wait|hold up|"
    r"one (?:second|sec|moment|minute)|"
    r"(?:just )?(?:a|one) (?:second|sec|moment|minute)|give me (?:a|one) (?:second|sec|moment|minute)|"
    r"bear with me|let me (?:find|grab|get|check|look|see)|hold the line)\b"
)
_REPEAT = re.compile(
    r"\b(?:repeat (?:that|it|this|the last part|yourself)|say (?:that|it) again|come again|"
    r"what (?:was|is) that|what did you (?:just )?say|(?:didn't|did not|couldn't|could not) (?:catch|hear|get) "
    r"(?:that|you|it|what you said)|pardon(?: me)?|one more time|again please|"
    r"you (?:cut|broke) (?:out|up)|you're breaking up|i lost you|(?:didn't|did not) hear (?:you|that|the last))\b"
)
_QUESTION_AFTER_HOLD = re.compile(
    r"\b(?:how|what|when|why|where|who|which|did|does|do|can|could|is|are|will|would)\b(?:\s+\S+){2,}\?|"
    r"\b(?:how (?:much|many|long)|did you|can you|could you|will you|what's|when (?:is|will|did)|who is)\b"
    r"(?:\s+\S+){2,}"
)
"""After "wait" or "hold on", a question: the caller asks something (recognised speech has no "?")."""
_ANSWER_AFTER_HOLD = re.compile(
    r"^(?:\W*(?:oh|uh|um|hmm|well)\W+)*(?:wait|hold on|hang on)\W+"
    r"(?:(?:oh|uh|um|well|actually|sorry|right|okay|ok|now|come to think of it|thinking about it)\W+)*"
    r"(?:yes|yeah|yep|yup|no|nope|that was me|that(?: one)?(?:'s| is) mine|it was me|i did|i didn't)\b"
)
"""A hold that answers at once: "hang on, actually yeah, I did buy that" is a yes, not a pause."""
_PUT_RIGHT = re.compile(
    r"\b(?:it was|it's|it is|that was|i meant|i mean|should be|make it)\s+(?!not\b)\w+[^.?!]*?,?\s*not\s+"
    r"(?!(?:now|yet|sure|really|here|there)\b)\w+"
)
"""After "wait", something said wrongly put right: "oh wait, it was thursday, not friday" is no pause."""
_CALL_IT_OFF = re.compile(
    r"\b(?:don't do (?:that|it)|do not do (?:that|it)|forget (?:it|that|about it)|never ?mind|cancel (?:that|it))\b"
)
_READ_BACK = re.compile(
    r"\b(?:read|say|give) (?:me )?(?:that|it|the)(?: \w+)?(?: number)? (?:back|again|one more time)|"
    r"\brepeat (?:that|the)(?: \w+)?(?: number)?\b"
)
_SORRY_ALONE = re.compile(rf"^{_FILLER}(?:sorry|what|huh|excuse me|pardon)\s*\??$")
_CAPABILITIES = re.compile(
    r"\bwhat (?:else |exactly |actually |really )?(?:can|could|do) (?:you|u) (?:do|help(?: me)?(?: with)?|handle|offer)\b|"
    r"\bwhat (?:kinds?|sorts?|types?) of (?:things|stuff|questions|requests) (?:can|could|do)\b|"
    r"\bwhat (?:else |exactly |actually |really )?(?:can|could) i (?:do|ask(?: about| you)?|get help with)\b|"
    r"\bhow (?:can|could) you help\b|\bwhat are (?:my|the) options\b|"
    r"\bwhat (?:is|does) this (?:line|number|service) (?:do|for)\b|\bwhat do you (?:do|help with)\b|"
    r"\bwhat (?:can|could) (?:you|i) (?:actually )?(?:do|help)\b|"
    r"\b(?:(?:can|could) you|you can|you could) help(?: me)?(?: with)?\s*\??$"  # "... help me with?" and no more
)
_GOODBYE = re.compile(
    r"\b(?:good ?bye|bye(?: bye)?|that(?:'s| is| will be| would be) (?:all|everything)(?! (?:correct|right|true|good|fine|accurate|ok|okay|wrong|there|of it|my|the)\b)(?: (?:i need(?:ed)?|for (?:now|today)))?|that's it for (?:now|today)|"
    r"(?:nothing else|no(?:thing)? more)(?! (?:came|come|went|go|gone|happened|hit|posted|showed|cleared|went through|is|was|on|in|out)\b)|i'm (?:all )?(?:set|done|good)(?: now| then| thanks| thank you)?$|"
    r"(?:you can|please) hang up|have a (?:good|nice|great) (?:day|one|night|evening)|talk to you later|"
    r"i(?:'m| am) (?:going to|gonna) (?:go|hang up)|end (?:the|this) call|(?:catch|see) (?:you|ya) later|"
    r"i(?:'ll| will) let you (?:go|get (?:on|back) (?:with|to) (?:your|the|it))|you have a (?:good|nice|great) \w+|that(?:'s| is) the lot|"
    r"ta ?-?ra|cheerio|so long|take care (?:now|then))\b"
)
_HUMAN_WHO = (
    r"(?:(?:a |an |some |the )?(?:(?:real|actual|live|flesh and blood),? )*(?:person|human(?: being)?|agent|representative|rep|operator|"
    r"somebody|someone|adjuster|manager|supervisor|associate|team member))"
)
_HUMAN = re.compile(
    rf"\b(?:(?:talk|speak|chat)(?: to| with)|connect(?: me)?(?: to| with)|transfer(?: me)?(?: to)?|get me|"
    rf"put me (?:through )?(?:to|with)|give me|(?:can|could|may) i (?:get|have|please have)|i(?: just| really| only)* (?:want|need|would like)|i'd(?: just| really| only)* like|"
    rf"is there)(?: just)? {_HUMAN_WHO}\b|"
    r"^(?:operator|representative|agent|human)[\s.!?]*$"
)
_THATS_IT = re.compile(
    r"\b(?:(?:no|nope|nah),? that's it|that's it,? (?:thanks|thank you)|(?:thanks|thank you)(?: so much| very much)?,? "
    r"that's it|that's it for me)\b"
)
"""A closing with "that's it": said with thanks or after a no, never as the yes to a question."""
_AGREES = re.compile(r"^(?:yes|yeah|yep|yup|right|exactly|correct)\b")
_TAKES_BACK = re.compile(
    r"\b(?:never ?mind|forget (?:it|that)|scratch that|on second thought|actually,? no|no,? actually)\b[\s,.]*"
)
"""After asking for a person, a taking-back ("can I talk to someone... actually never mind"): not an ask."""
_ACTUALLY_INSTEAD = re.compile(
    r"(?:^|[,.!?;]\s*|\s-\s*)(?:(?:well|oh|or|but|hmm|um|no|wait),?\s+)*actually\b[\s,.]*"
    r"(?=.*\b(?:just|instead|if you (?:can|could)|can you|could you|tell me|what(?:'s| is)|how much)\b)"
)
"""After asking for a person, "actually" starting a new clause that asks for something the agent can do
("...a person? well, actually, if you can just tell me my balance"): the person is taken back too."""
_FETCHING = re.compile(
    r"\b(?:let me|while i|i(?:'ll| will| need to| have to| gotta| got to)) (?:just |go |quickly |run and )*"
    r"(?:find|grab|get|check|look for|look up|pull up|dig out)\b.*$"
)
_REQUEST_WORDS = re.compile(
    r"\b(?:balance|transfer|move|charge|card|claim|policy|deductible|cover|covered|coverage|transactions?|"
    r"dispute|fraud|lost|stolen|report|accident|status|money|account|payment)\b"
)


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_ACKNOWLEDGES = re.compile(
    r"^(?:(?:yes|yeah|yep|no|nope|okay|ok|sure|sorry|thanks|thank you|alright|all right|right|um|uh)\W*)*"
    r"(?:(?:i'm|i am|we're|we are|everyone's|everyone is|everybody's|everybody is|they're|they are)"
    r"(?: all)? (?:okay|ok|fine|good|safe|alright|all right|sure|not hurt)"
    r"|(?:nobody|no one)(?:'s| is| was| got) hurt)?$"
)
"""A sentence that answers only how the caller is, or acknowledges: no value for any question."""


def classify(text: str) -> Meta | None:
    """What a caller's utterance says about the conversation, or None when it is (also) a request."""
    norm = normalize(text).strip(" .,!?")
    if not norm:
        return None
    found = _classify(text)
    if found is None and (held := _held_after(norm)) is not None:
        return held
    return found


def _held_after(norm: str) -> Meta | None:
    """ "I'm okay. Hold on, I need to find my policy number": a hold after sentences that ask for nothing
    (an answer to how they are, an "all right") still holds."""
    sentences = _SENTENCE_END.split(norm)
    for k in range(1, len(sentences)):
        if not _ACKNOWLEDGES.match(sentences[k - 1].strip(" .,!?")):
            return None  # "it was yesterday. hang on": the first sentence answers something
        if _classify(" ".join(sentences[k:])) is Meta.HOLD:
            return Meta.HOLD
    return None


def _classify(text: str) -> Meta | None:
    norm = normalize(text).strip(" .,!?")
    if not norm:
        return None
    words = norm.split()
    has_numbers = any(len(run.digits) >= 2 for run in digit_runs(tokens(norm)))  # not "one second"
    if (human := _HUMAN.search(norm)) is not None:
        back = _TAKES_BACK.search(norm, human.end()) or _ACTUALLY_INSTEAD.search(norm, human.end())
        if back is None:
            return Meta.HUMAN
        return _classify(norm[back.end() :])  # "a person... never mind, what's my balance": the rest
    request = bool(_REQUEST_WORDS.search(norm)) or has_numbers
    if _CAPABILITIES.search(norm) and not has_numbers:
        return Meta.CAPABILITIES
    if _says_goodbye(normalize(text)) and not request:
        return Meta.GOODBYE
    fetching = _FETCHING.sub("", norm)  # "hang on, let me find my card": the card is not a request
    asks = (  # "wait, how much did you pay" asks; "hold on, can you give me a second" holds
        _QUESTION_AFTER_HOLD.search(_FETCHING.sub("", norm)) is not None
        and re.search(r"\b(?:second|sec|moment|minute)\b", norm) is None
    )
    answers = _ANSWER_AFTER_HOLD.search(norm) is not None  # "oh wait. yeah, that was me actually": an answer
    if (
        _HOLD.search(norm)
        and not asks
        and not answers
        and not _CALL_IT_OFF.search(norm)  # "no, wait, don't do that. forget it": a no, not a pause
        and not _PUT_RIGHT.search(norm)
        and not _REQUEST_WORDS.search(fetching)
        and not has_numbers
        and tail_correction(norm)
        is None  # "let me look. sorry, it ends in two, not three": the number put right
        and len(words) <= 16
    ):
        return Meta.HOLD
    if _READ_BACK.search(norm) and len(words) <= 20:
        return Meta.REPEAT  # "read me that claim number again": names what to repeat, asks for nothing new
    if (_REPEAT.search(norm) or _SORRY_ALONE.match(norm)) and not request and len(words) <= 16:
        return Meta.REPEAT
    return None


_PROCEED = re.compile(
    r"\b(?:go ahead|put it (?:through|in)|send it|file it|submit it|do it|proceed|lock it|order it|"
    r"(?:you can|please) (?:file|send|submit|put|lock|order|move|transfer|do)\b)"
)
"""After a closing, words that ask for the thing at hand to be done ("that's everything, go ahead and put it
through"): the caller is answering the agent's last question, not leaving."""


def _says_goodbye(norm: str) -> bool:
    """A closing in so many words, not one asked back ("that's all? nothing else went out?") and not one
    followed by a go-ahead for what is pending (`_PROCEED`)."""
    for m in _GOODBYE.finditer(norm):
        rest = norm[m.end() :]
        if rest.lstrip().startswith("?"):
            continue
        if _PROCEED.search(rest) and not _GOODBYE.search(rest):
            continue
        return True
    plain = norm.strip(" .,!?")
    return not _AGREES.match(plain) and any(
        not norm[m.end() :].lstrip().startswith("?") for m in _THATS_IT.finditer(norm)
    )


def says_goodbye(text: str) -> bool:
    """Whether the caller said in words that they are done (what `end_call` needs)."""
    return _says_goodbye(normalize(text))


def calls_it_off(text: str) -> bool:
    """Whether the caller called off what was proposed in words ("no, wait, don't do that")."""
    return _CALL_IT_OFF.search(normalize(text)) is not None


def asks_for_person(text: str) -> bool:
    """Whether the caller asked in words for a person (what `transfer_to_human` needs without a confirmation)."""
    return _classify(text) is Meta.HUMAN if _HUMAN.search(normalize(text)) is not None else False
