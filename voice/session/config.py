"""What every orchestrator of a call shares: its tunables (idle, DTMF, tools, what the agent says when things
go wrong) and who hears about its turns (call records, dashboards)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from voice.transcript import Speaker, TranscriptTurn


@dataclass(frozen=True)
class CallConfig:
    idle_reprompt_s: float = 8.0
    """Silence (nobody speaking, nothing pending) before the agent checks whether the caller is there."""
    idle_hang_up_s: float = 20.0
    """Silence before the agent says goodbye and hangs up."""
    holding_after_s: float = 1.5
    """A tool running longer than this with nothing playing gets a holding phrase."""
    max_tool_rounds: int = 4
    """Brain -> tools -> brain rounds per caller turn, so a looping model cannot hold the call."""
    tool_timeout_s: float = 10.0
    dtmf_timeout_s: float = 2.0
    """Keyed digits are sent after this pause, or at once on '#'."""
    preroll_ms: int = 400
    """Audio kept from before speech onset, so recognition hears the first syllable."""
    turn_end_mode: Literal["semantic", "fixed"] = "fixed"
    """Default of agents that set no `speech.turn_end` (the service's TURN_END_MODE)."""
    turn_end_min_silence_ms: int = 300
    """Semantic mode: the pause that ends a turn judged complete. Callers pause 200-400 ms at a comma ("Jordan
    Rivera, | the last four are ..."): at 200 ms each such pause ended the turn and the agent answered half a
    sentence. The reply still starts after `turn_end_speculate_ms`, unheard until the turn ends."""
    turn_end_after_number_ms: int = 400
    """Semantic mode: the pause that ends a complete turn whose words end on a number read out. The comma pauses
    that cut turns at 300 ms came after numbers ("account ending in sixty-six forty, | what's in my checking?",
    "A U four eight two nine one four, | sorry, ...")."""
    turn_end_speculate_ms: int = 96
    holding_phrase: str = "One moment while I look into that."
    apology: str = "Sorry, I'm having trouble on my side right now. Could you say that again?"
    not_heard: str = "Sorry, I didn't catch that. Could you say it again?"
    reprompt: str = "Are you still there? How can I help?"
    goodbye: str = "I haven't heard anything for a while, so I'll end the call now. Goodbye."
    transfer_failed: str = "I'm sorry, I can't transfer you right now. Is there anything I can help with?"
    transfer_no_answer: str = (
        "I'm sorry, nobody from our team could pick up right now. I've noted that you'd like a call back, "
        "and someone will call you as soon as they can. Is there anything else I can help with meanwhile?"
    )


class CallObserver(Protocol):
    """What the app hears about the conversation (call records, dashboards)."""

    async def on_turn(self, turn: TranscriptTurn) -> None: ...

    async def on_agent_changed(self, previous: str, current: str) -> None: ...

    def on_partial(self, speaker: Speaker, text: str, agent: str | None) -> None:
        """A turn still in progress: the caller's words recognised so far, or the agent's reply so far (PII
        already masked). Called on the turn path: it must only hand the text on, never wait."""
        ...
