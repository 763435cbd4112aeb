"""The embedded agent brain (no LLM service): intent routing by sentence embeddings over each tool's
description and examples, argument extraction, slot filling, and replies from tool results.

    from voice.llm.local_brain import LocalBrain
    brain = LocalBrain()            # a ChatModel named "local-brain" (alias: LocalAgentBrain)

Keypad input is given to it as a user message in the `DTMF_PREFIX` convention (`dtmf_message("4821#")` ->
"[dtmf] 4821#"; "[keypad] 4821" is accepted too).
"""

from voice.llm.base import DTMF_PREFIX, dtmf_message
from voice.llm.local_brain.brain import LocalAgentBrain, LocalBrain
from voice.llm.local_brain.embeddings import SentenceEncoder, get_shared_encoder
from voice.llm.local_brain.keypad import DTMF_PREFIXES, dtmf_keys
from voice.llm.local_brain.router import DEFAULT_THRESHOLD, IntentRouter

__all__ = [
    "DEFAULT_THRESHOLD",
    "DTMF_PREFIX",
    "DTMF_PREFIXES",
    "IntentRouter",
    "LocalAgentBrain",
    "LocalBrain",
    "SentenceEncoder",
    "dtmf_keys",
    "dtmf_message",
    "get_shared_encoder",
]
