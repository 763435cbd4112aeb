"""How the cascade reads an agent's YAML for speech: the voice its clauses are spoken in, and its turn-taking."""

from __future__ import annotations

from registries.agentstore.schema import AgentSpec
from voice.audio.turns import TurnPolicy
from voice.session.config import CallConfig
from voice.speech_cascade.speaker import Voice


def agent_voice(agent: AgentSpec) -> Voice:
    return Voice(name=agent.voice.name, rate=agent.voice.rate_multiplier, style=agent.voice.style)


def agent_turn_policy(agent: AgentSpec, config: CallConfig | None = None) -> TurnPolicy:
    """The agent's turn-taking; its `speech.turn_end` wins over the service's mode (`config`)."""
    config = config if config is not None else CallConfig()
    return TurnPolicy(
        end_of_turn_silence_ms=agent.speech.end_of_turn_silence_ms,
        barge_in=agent.speech.barge_in,
        min_barge_in_ms=agent.speech.min_barge_in_ms,
        unfinished_hold_ms=agent.speech.unfinished_hold_ms,
        mode=agent.speech.turn_end or config.turn_end_mode,
        min_silence_ms=min(config.turn_end_min_silence_ms, agent.speech.end_of_turn_silence_ms),
        number_end_silence_ms=config.turn_end_after_number_ms,
        speculate_after_ms=config.turn_end_speculate_ms,
    )
