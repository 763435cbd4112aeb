"""Local barge-in for the VoiceLive bridge: our own VAD on the caller audio we forward, so the agent goes quiet
without waiting for the realtime server's `input_audio_buffer.speech_started` to come back.

The server's turn detection needs ~100 ms of speech before it says so, and its event then crosses the socket
(with the real service, the internet) before we could send StopAudio. Here the caller's frames are scored by
the process-wide VAD batcher as they arrive and fed to the cascade's `TurnTracker` rules: after
`pause_after_ms` of strong speech over the agent it pauses (StopAudio, the rest of the reply kept); speech
that then reaches the agent's `min_barge_in_ms` is a barge-in; speech that dies down first lets the agent
carry on where it stopped. The server's `speech_started` still confirms the interruption (cancel, truncate)
whenever it comes first.
"""

from __future__ import annotations

from collections.abc import Sequence

from registries.agentstore.schema import AgentSpec
from voice.audio.turns import BargeIn, PauseAgent, ResumeAgent, TurnPolicy, TurnTracker
from voice.transports.cadence import AudioClock

OnsetEvent = PauseAgent | ResumeAgent | BargeIn


def onset_policy(agent: AgentSpec) -> TurnPolicy:
    """The agent's barge-in rules (turn ends are the server's business, so only these fields matter)."""
    return TurnPolicy(
        end_of_turn_silence_ms=agent.speech.end_of_turn_silence_ms,
        barge_in=agent.speech.barge_in,
        min_barge_in_ms=agent.speech.min_barge_in_ms,
        unfinished_hold_ms=0,
        mode="fixed",
    )


class LocalOnset:
    """Feed every inbound frame with its VAD probabilities; get pause / resume / barge-in decisions, with the
    monotonic time the caller's speech onset reached us."""

    def __init__(self, agent: AgentSpec, sample_rate: int) -> None:
        self._tracker = TurnTracker(onset_policy(agent))
        self._bytes_per_s = 2 * sample_rate  # PCM16 mono
        self._audio_s = 0.0
        self._clock = AudioClock()

    def set_agent(self, agent: AgentSpec) -> None:
        """Another agent took over: its barge-in rules from the next window."""
        self._tracker.set_policy(onset_policy(agent))

    def hear(
        self, pcm: bytes, probabilities: Sequence[float], *, agent_active: bool, now: float
    ) -> list[OnsetEvent]:
        """One frame (arrived at monotonic `now`) and the probabilities of the VAD windows it completed."""
        self._audio_s += len(pcm) / self._bytes_per_s
        self._clock.observe(self._audio_s, now)
        events: list[OnsetEvent] = []
        for probability in probabilities:
            for event in self._tracker.update(probability, agent_active=agent_active):
                if isinstance(event, PauseAgent | ResumeAgent | BargeIn):
                    events.append(event)
        return events

    def arrival(self, at_ms: int, now: float) -> float:
        """Monotonic time the caller's audio at `at_ms` (this detector's audio clock) reached us."""
        return min(now, self._clock.arrival(at_ms / 1000, default=now))
