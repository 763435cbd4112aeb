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
from voice.llm.local_brain.asked import answered_by
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
_DIGIT_RUN = re.compile(
    r"\b(?:(?:zero|oh|one|two|three|four|five|six|seven|eight|nine|double|triple|\d+)\b[\s,-]*){4,}"
)


_KEPT_AWAY = re.compile(
    r"\b(what|how much)( money)? (i've got|i have got|we've got|i've|i have|i|we've|we have)"
    r" (?:put away|put aside|set aside|tucked away|saved up|saved)\b"
)
"""Money described by where it was kept ("what I've got put away"): a savings question, whatever the verbs."""


_EVERYDAY_NAMES = (
    (re.compile(r"\bcurrent (account|acct)\b"), r"checking \1"),
    (re.compile(r"\b(?:the|my|your|his|her|our) (?:bit of )?plastic\b"), "my card"),
)
_PAYEE = re.compile(
    r"\b(?:the|my|our) (?:electric(?:ity)?|power|gas|water|phone|cable|internet|energy|utility|utilities|trash|"
    r"sewer) (?:company|companies|bill|bills|people|provider|utility)\b"
)
_TAKEN_OUT = re.compile(r"\b(?:take|took|taken|takes|pull|pulled|pulls) out\b")
"""A bill's payee ("the electric company") and what it did ("take out"): one of the account's recent charges,
a bill paid, not a charge disowned."""
"""Regional and everyday names for a bank's things, as the examples' words: a British "current account" is the
checking account (its "current" is no "recent"), and "the plastic" is the card."""


def routing_text(text: str) -> str:
    """The utterance as routed: a long read-out number ("seven zero zero one ...") says nothing about the intent
    and pulls towards whichever examples happen to spell digits, so it becomes "a number"; money described as
    put away or saved becomes "in savings"; regional names of accounts and cards become the examples' words."""
    routed = _KEPT_AWAY.sub(r"\1\2 \3 in savings", text.lower())
    for said, usual in _EVERYDAY_NAMES:
        routed = said.sub(usual, routed)
    if _PAYEE.search(routed):
        routed = _TAKEN_OUT.sub("came out of my account", _PAYEE.sub("the bill", routed))
    return _DIGIT_RUN.sub("a number ", routed).strip()


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
        answered = answered_by(text)
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
