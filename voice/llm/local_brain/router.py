"""Intent routing: which of the agent's tools the caller's utterance asks for, by sentence-embedding similarity.

Each tool is represented by its examples plus its description (for a handoff tool: the handoff examples and
the scenario's handoff condition). A tool's score is the best cosine similarity between the utterance and
one of its texts. The best tool wins if

- its score reaches `DEFAULT_THRESHOLD` (0.35, calibrated by leave-one-out on the shipped examples; see
  `calibrate.py` and the numbers in its docstring), and
- the utterance is not closer to `OUT_OF_SCOPE`, a small background class of things callers say that no
  tool handles (weather, jokes, ...): it rejects off-topic speech that happens to share words with a tool.

When a handoff tool wins by less than `HANDOFF_MARGIN` over one of the agent's own tools, the own tool is
taken: an agent does what it can itself (the fraud agent locks a card rather than handing off to card services).

The example matrix of a tool set is computed once per process and cached by content (`EmbeddingCache`), so a
turn costs one utterance encode and a [M, 384] @ [384] product: ~8 ms p50, 11 ms p95 per turn on one core of
a 2.5 GHz Xeon (run in a worker thread; the brain's own work on the event loop is ~0.3 ms).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from registries.toolstore.decorator import ToolSpec
from voice.llm.local_brain.embedding_disk import disk_cache
from voice.llm.local_brain.embeddings import EmbeddingCache, SentenceEncoder, digest, get_shared_encoder
from voice.llm.local_brain.enums import match_enum
from voice.llm.local_brain.identifiers import parse_identifier
from voice.llm.local_brain.params import unwrap

DEFAULT_THRESHOLD = 0.35
HANDOFF_MARGIN = 0.05
EVIDENCE_BONUS = 0.08
"""Added to a tool's score when the utterance names a value of one of its enum parameters ("towing" is
roadside coverage, "I can't find it" a lost card): the caller is giving that tool's arguments."""
TOPIC_BONUS = 0.15
"""Added to a tool whose description names the topic of a caller's *question* ("is X covered?", "what's happening
with my claim?"): a question about coverage is not a report of a new loss, whatever words they share."""
_QUESTION = re.compile(
    r"^(?:\W*(?:so|and|um|uh|hi|hey|okay|ok|quick question|yeah|like|well|right|hello)\W+)*"
    r"(?:how|what|what's|whats|which|when|where|why|who|"
    r"does|do|did|is|are|am|was|will|would|can|could|has|have|should)\b|\?\s*$|\bif\b|\bwondering\b|"
    r"\b(?:tell me|let me know|i (?:want|need|would like|'d like) to know)\b"
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
            r"what(?:'s| is) left (?:in|on)|how much(?: money)? (?:is |do i have )?left|"
            r"check (?:on )?(?:my|the) (?:savings|checking|account))\b"
        ),
        r"\bbalance",
    ),
)
"""(what a question asks about, what a tool's description says when it answers that)."""
_FILING = r"\bfile a new claim|\breport a new\b"
REQUESTS: tuple[tuple[re.Pattern[str], str], ...] = (
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
            r"\b(?:don't|do not|didn't) recogni[sz]e\b|\bnot mine\b|\bwasn't me\b|"
            r"\b(?:haven't|have not|never) (?:even )?(?:been (?:to|in)|set foot)\b|"
            r"\b(?:somebody|someone)(?:'s| has| is)? (?:got|using|used) my card\b"
        ),
        r"\brecogni[sz]e\b|\bsuspicious\b",
    ),
)
"""(what a caller asks for in so many words, asked or said, what a tool's description says when it does that)."""


def asks_in_so_many_words(text: str) -> bool:
    """Whether the caller names what they want ("can I file that?", "what's the deductible?"): it outweighs a
    slot the same words fill."""
    norm = text.lower()
    if any(asks.search(norm) for asks, _ in REQUESTS):
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
_SENTENCES = re.compile(r"(?<=[.?!])\s+")
_DIGIT_RUN = re.compile(
    r"\b(?:(?:zero|oh|one|two|three|four|five|six|seven|eight|nine|double|triple|\d+)\b[\s,-]*){4,}"
)


def routing_text(text: str) -> str:
    """The utterance as routed: a long read-out number ("seven zero zero one ...") says nothing about the intent
    and pulls towards whichever examples happen to spell digits, so it becomes "a number"."""
    return _DIGIT_RUN.sub("a number ", text.lower()).strip()


SWITCH_THRESHOLD = 0.55
"""While a slot is being filled, an answer moves to another tool only above this score. Typical slot answers
("a u four eight two nine one three", "yesterday", "um I'm not sure") score at most ~0.47 against other tools;
clear changes of topic ("actually can I talk to a real person", "what's my deductible") 0.7 and more."""

OUT_OF_SCOPE: tuple[str, ...] = (
    "how's the weather",
    "tell me something funny",
    "what's on tv tonight",
    "I'm hungry",
    "who are you",
    "what's the score of the game",
    "turn on the lights",
    "hmm let me think",
    "I don't know",
    "this is a test",
    "sing a song",
    "where is the nearest gas station",
    "what's your favorite color",
    "random words here",
    "can you hear me",
    "set an alarm",
    "I have a question about refinancing my mortgage",
    "I'd like to apply for a loan",
    "can I open a new account",
    "what are your branch hours",
    "I need to change my mailing address",
)
"""Background class: utterances closer to one of these than to any tool are not understood."""


def tool_texts(spec: ToolSpec) -> list[str]:
    """What a tool is matched against: its examples and its description (and, for a handoff, what only the
    target agent can do)."""
    texts = [e for e in spec.examples if e.strip()]
    if spec.description.strip():
        texts.append(" ".join(spec.description.split()))
    return [*texts, *spec.routing_texts]


@dataclass(frozen=True, eq=False)
class ToolIndex:
    """The embedded texts of one tool set (read-only, shared by every call using that set)."""

    names: tuple[str, ...]
    handoff: tuple[bool, ...]
    texts: tuple[str, ...]
    owner: np.ndarray  # [M] index into names
    matrix: np.ndarray  # [M, 384] unit rows
    background: np.ndarray  # [K, 384] unit rows of OUT_OF_SCOPE
    enums: tuple[tuple[tuple[str, ...], ...], ...]  # per tool: the value lists of its enum parameters
    descriptions: tuple[str, ...] = ()  # per tool: its description, lower-case (for question topics)

    def topics(self, text: str) -> np.ndarray:
        """1.0 for each tool whose description answers the topic of a question `text` asks, or does what the
        caller asks for in so many words or reports, else 0.0."""
        found = np.zeros(len(self.names), dtype=np.float32)
        norm = text.lower()
        question = _QUESTION.search(norm) is not None
        answered: list[str] = [answers for asks, answers in REQUESTS if asks.search(norm)]
        if _ABOUT_A_FILED_CLAIM.search(norm):
            answered = [a for a in answered if a != _FILING]  # "i put in a claim last month": not a new one
        # "the drain backed up last night. is that even covered?": what happened, then a question about it
        later = not question and any(_QUESTION.match(s) for s in _SENTENCES.split(norm)[1:])
        asked = [answers for asks, answers in TOPICS if asks.search(norm)] if question or later else []
        answered += asked
        if question or asked:
            pass
        elif _INCIDENT_TIME.search(norm) and not _ABOUT_A_FILED_CLAIM.search(norm):
            answered.append(_FILING)
        for answers in answered:
            found += np.array(
                [float(bool(re.search(answers, d))) for d in self.descriptions], dtype=np.float32
            )
        return np.minimum(found, 1.0)

    def evidence(self, text: str) -> np.ndarray:
        """1.0 for each tool whose enum values the text names, else 0.0."""
        return np.array(
            [float(any(_names(text, values) for values in enums)) for enums in self.enums],
            dtype=np.float32,
        )


def _names(text: str, values: tuple[str, ...]) -> bool:
    """Whether `text` names one of `values`, or (for a "#<shape>" entry) says an identifier of that shape."""
    if len(values) == 1 and values[0].startswith("#"):
        return parse_identifier(text, values[0][1:]) is not None
    return match_enum(text, values, bare_other=False) is not None


_INDEXES: EmbeddingCache[ToolIndex] = EmbeddingCache(capacity=64)


@dataclass(frozen=True)
class Route:
    tool: str | None
    """The chosen tool, or None when nothing matched well enough."""
    score: float
    """Similarity of the best tool (even when it was rejected)."""
    best: str | None = None
    """The best-scoring tool before the threshold and background checks."""
    out_of_scope: bool = False
    scores: dict[str, float] = field(default_factory=dict)


class IntentRouter:
    """Routes utterances to tools. Stateless apart from the process-wide embedding caches; thread-safe.

    `route` blocks (ONNX inference): run it with `asyncio.to_thread`.
    """

    def __init__(
        self,
        encoder: SentenceEncoder | None = None,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        handoff_margin: float = HANDOFF_MARGIN,
        evidence_bonus: float = EVIDENCE_BONUS,
        background: Sequence[str] = OUT_OF_SCOPE,
    ) -> None:
        self._encoder = encoder
        self.threshold = threshold
        self.handoff_margin = handoff_margin
        self.evidence_bonus = evidence_bonus
        self._background = tuple(background)

    @property
    def encoder(self) -> SentenceEncoder:
        return self._encoder if self._encoder is not None else get_shared_encoder()

    def index_for(self, tools: Sequence[ToolSpec]) -> ToolIndex:
        """The (cached) index of a tool set; the first use of a set encodes all its texts (~60 ms)."""
        parts: list[str] = [*self._background, "\x00"]
        for spec in tools:
            parts += [spec.name, "\x01", *tool_texts(spec), "\x02", "h" if spec.handoff else "t"]
            parts += [",".join(values) for values in spec.routing_values]
        key = digest(parts)
        return _INDEXES.get_or_build(key, lambda: self._build(tools))

    def _build(self, tools: Sequence[ToolSpec]) -> ToolIndex:
        texts: list[str] = []
        owner: list[int] = []
        for i, spec in enumerate(tools):
            for text in tool_texts(spec):
                texts.append(text)
                owner.append(i)
        encoded = self._encode_examples([*texts, *self._background])
        matrix, background = encoded[: len(texts)], encoded[len(texts) :]
        for array in (matrix, background):
            array.flags.writeable = False
        owners = np.asarray(owner, dtype=np.int64)
        owners.flags.writeable = False
        return ToolIndex(
            names=tuple(t.name for t in tools),
            handoff=tuple(t.handoff is not None for t in tools),
            texts=tuple(texts),
            owner=owners,
            matrix=matrix,
            background=background,
            enums=tuple(_enum_values(t) for t in tools),
            descriptions=tuple(" ".join(t.description.split()).lower() for t in tools),
        )

    def _encode_examples(self, texts: Sequence[str]) -> np.ndarray:
        """The encoder's vectors for a tool set's texts, from the disk cache when one is configured."""
        encoder, disk = self.encoder, disk_cache()
        if disk is None or not isinstance(encoder, SentenceEncoder):
            return encoder.encode(texts)
        # The encoder's own source is part of the key too: a change to its pooling or batching is a new model.
        source = Path(inspect.getfile(type(encoder)))
        return disk.encode((encoder.model_path, encoder.tokenizer_path, source), texts, encoder.encode)

    def route(self, tools: Sequence[ToolSpec], text: str) -> Route:
        """Encode `text` and route it among `tools` (blocking)."""
        if not tools or not text.strip():
            return Route(tool=None, score=0.0)
        index = self.index_for(tools)
        vector = self.encoder.encode([routing_text(text)])[0]
        return self.route_vector(index, vector, text=text)

    def route_vector(
        self, index: ToolIndex, vector: np.ndarray, *, text: str | None = None, exclude_row: int | None = None
    ) -> Route:
        """Route an already-encoded utterance (`text` adds the evidence bonus). `exclude_row` hides one example
        (leave-one-out calibration)."""
        sims = index.matrix @ vector
        if exclude_row is not None:
            sims = sims.copy()
            sims[exclude_row] = -1.0
        per_tool = np.full(len(index.names), -1.0, dtype=np.float32)
        np.maximum.at(per_tool, index.owner, sims)
        topics = np.zeros(len(index.names), dtype=np.float32)
        if text is not None:
            topics = (
                index.topics(text) if index.descriptions else np.zeros(len(index.names), dtype=np.float32)
            )
            evidence = index.evidence(text) if self.evidence_bonus else topics * 0
            if topics.any():
                evidence = evidence * topics  # "is it covered if it's stolen?" asks; it reports no theft
            per_tool += self.evidence_bonus * evidence + TOPIC_BONUS * topics
        best = int(per_tool.argmax())
        if index.handoff[best]:
            own = [
                i
                for i in range(len(index.names))
                if not index.handoff[i]
                and per_tool[i] >= per_tool[best] - self.handoff_margin
                and topics[i] >= topics[best]  # an own tool that does not answer the question is no match
            ]
            if own:
                best = max(own, key=lambda i: per_tool[i])
        score = float(per_tool[best])
        background = float((index.background @ vector).max()) if len(index.background) else -1.0
        scores = {name: float(s) for name, s in zip(index.names, per_tool, strict=True)}
        out_of_scope = background > float(per_tool.max())
        accepted = score >= self.threshold and not out_of_scope
        return Route(
            tool=index.names[best] if accepted else None,
            score=score,
            best=index.names[best],
            out_of_scope=out_of_scope,
            scores=scores,
        )


def _enum_values(spec: ToolSpec) -> tuple[tuple[str, ...], ...]:
    props = spec.parameters.get("properties", {})
    own = tuple(tuple(str(v) for v in unwrap(p)["enum"]) for p in props.values() if "enum" in unwrap(p))
    return own + spec.routing_values
