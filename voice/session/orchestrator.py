"""What runs a call's conversation, whichever channel carries its media, and what building one takes.

`MediaSession` drives an `Orchestrator` (the SpeechCascade, VoiceLive) with inbound audio and keys; the app
builds one from `CallDeps`: the call's conversation, its telephony, where its turns go, and its tunables.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from voice.audio.turn_batcher import TurnScorer
from voice.session.call_control import CallControl
from voice.session.config import CallConfig, CallObserver
from voice.session.conversation import CallConversation, ConversationState
from voice.session.redaction import RedactionPolicy
from voice.session.warm_transfer import TransferLine
from voice.telemetry import NO_TELEMETRY, CallTelemetry
from voice.transcript import TranscriptStore
from voice.transports.playout import PacedPlayout


class Orchestrator(Protocol):
    """One call's conversation engine. Owns every task it starts; `aclose` leaves nothing running."""

    conversation: CallConversation

    @property
    def uses_vad(self) -> bool:
        """Whether `on_audio` needs our VAD's probabilities (a realtime server detects turns itself)."""
        ...

    async def start(self, *, sample_rate: int, playout: PacedPlayout) -> None:
        """Media is flowing at `sample_rate`; agent audio goes out through `playout`."""
        ...

    async def on_audio(self, pcm: bytes, probabilities: Sequence[float]) -> None:
        """One inbound frame at the call's rate, with the VAD probabilities of the windows it completed."""
        ...

    async def on_dtmf(self, digit: str) -> None: ...

    async def aclose(self, reason: str | None = None) -> None:
        """The call is over: stop everything, keep what was heard, write the outcome."""
        ...


@dataclass(frozen=True)
class CallDeps:
    """What every orchestrator of a call is built from: the call's state, its telephony, its storage."""

    conversation: CallConversation
    call_control: CallControl
    transcripts: TranscriptStore | None = None
    observer: CallObserver | None = None
    config: CallConfig = field(default_factory=CallConfig)
    save_state: Callable[[ConversationState], None] | None = None
    """Writes the conversation behind each agent turn (never awaited on the turn path)."""
    resumed: bool = False
    """The conversation was restored (another worker ran the call): welcome the caller back."""
    telemetry: CallTelemetry = NO_TELEMETRY
    redaction: RedactionPolicy = field(default_factory=RedactionPolicy)
    """PII masking of the stored transcript and call events, for scenarios that set none (on by default)."""
    transfer_line: TransferLine | None = None
    """The scenario transfers warm (hold, brief a person, hand over); None: `call_control` transfers cold."""
    turn_model: TurnScorer | None = None
    """The end-of-turn model shared by the process's calls (SpeechCascade semantic mode); None: words only."""
