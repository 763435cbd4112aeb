"""The speech-to-text interface every provider (embedded pocketsphinx, Azure Speech, ...) implements.

The cascade owns turn-taking (VAD decides when the caller started and stopped talking), so a recognition
session is driven turn by turn: the cascade pushes the caller's audio from just before speech onset until
the end of the turn, then awaits `end_of_turn()` for the final text of that stretch. Partial hypotheses are
reported through `SttConfig.on_partial` while audio flows (on the event loop thread).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from voice.expectation import Expectation


@dataclass(frozen=True, slots=True)
class Recognition:
    """What the caller said in one turn."""

    text: str
    """Final text; "" when nothing intelligible was heard."""
    language: str | None = None
    """BCP-47 tag of the recognised language, when the provider knows it."""
    confidence: float | None = None
    """0..1 when the provider reports one."""
    whole_turn: bool = False
    """The text covers the stretches of the turn before pauses the caller went on after (whose words were
    carried over, see `ContinuableSession`): it replaces their words instead of following them."""


@dataclass(frozen=True)
class SttConfig:
    """How one call's recognition is set up (from the active agent's `speech` section)."""

    sample_rate: int
    """Rate of the PCM16 mono audio the cascade pushes (8000, 16000 or 24000)."""
    languages: Sequence[str] = ("en-US",)
    """Candidate BCP-47 languages; more than one means language identification where supported."""
    phrases: Sequence[str] = ()
    """Phrases the caller is likely to say in this scenario (tool examples, handoff conditions, greetings):
    a phrase list for Azure, the language model for the embedded recogniser."""
    on_partial: Callable[[str], None] | None = field(default=None, compare=False)
    """Called on the loop thread with each new partial hypothesis of the current turn."""
    call_id: str = ""


@runtime_checkable
class SttSession(Protocol):
    """One call's recognition; owned by the call and closed with it."""

    def push(self, pcm: bytes) -> None:
        """Feed caller audio (PCM16 mono at `SttConfig.sample_rate`). Never blocks the loop."""
        ...

    async def end_of_turn(self) -> Recognition:
        """The final recognition of everything pushed since the previous turn ended.

        Returns `Recognition("")` if nothing was pushed. Raises (e.g. `ProviderError`) if the provider failed;
        the session is then unusable and the caller opens another one (or falls back to another provider).
        """
        ...

    def discard_turn(self) -> None:
        """Forget the audio pushed since the previous turn ended (a false start, or an ignored backchannel)."""
        ...

    async def aclose(self) -> None:
        """Stop recognition and release resources. Idempotent."""
        ...


@runtime_checkable
class ContinuableSession(Protocol):
    """A session that can recognise a turn the caller went on with as a whole (optional).

    The cascade may finish a turn early at a pause and ask for its text; when the caller goes on after all, it
    calls `continue_turn()` before pushing the rest. The next `end_of_turn` may then recognise everything since
    the turn really began, in one pass (a recogniser reads a few words alone far worse than in their sentence),
    and says so with `Recognition.whole_turn`.
    """

    def continue_turn(self) -> None:
        """The audio pushed next continues the turn that ended last (the caller went on after a pause)."""
        ...


@runtime_checkable
class ExpectingSession(Protocol):
    """A session that can use what the agent just asked for (optional; others simply never hear it).

    The cascade calls `expect` once the agent's reply is decided, before the caller answers: the hint holds for
    every turn that ends after it, until the next call (None: nothing in particular is expected). The embedded
    recogniser reads digit answers by it (`voice.stt.answer_hint`); a provider may also ignore it.
    """

    def expect(self, expectation: Expectation | None) -> None:
        """What the caller's next turns are likely to answer (see `voice.expectation.Expectation`)."""
        ...


@runtime_checkable
class SpeechToText(Protocol):
    name: str
    """Short provider name for logs and metrics, e.g. "pocketsphinx"."""

    async def open_session(self, config: SttConfig) -> SttSession:
        """Start recognition for one call. Raises `ProviderError` if the provider cannot be reached."""
        ...

    async def prepare(self, phrases: Sequence[str]) -> None:
        """Get ready for calls whose scenario uses `phrases` (build a phrase language model, warm a cache).

        Called off the call path when the registry loads or refreshes; a provider with nothing to prepare
        returns at once. `open_session` must still work for phrases that were never prepared.
        """
        ...
