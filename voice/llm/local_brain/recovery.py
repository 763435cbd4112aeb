"""After a tool error: set up the answer to the question the error asks ("those details don't match, try again",
"I couldn't find that policy number"), or fix it at once (verify first, with the details the caller gave). A
base of `Turn` (`turn.py`), which provides `start`."""

from __future__ import annotations

import re

from registries.toolstore.decorator import ToolSpec
from voice.llm.local_brain.decision import Decision
from voice.llm.local_brain.dialog import DialogReading, ToolOutcome
from voice.llm.local_brain.params import param_kind
from voice.llm.local_brain.slots import LOOKUP_FIRST, mentioned, properties
from voice.llm.local_brain.state import DialogState, Pending

_VERIFY_NEEDED = re.compile(r"\bverif(?:y|ied|ication)\b", re.IGNORECASE)
_ASKS = re.compile(r"\?\s*$|\?\s+(?:tell|give|say|read)\b|^\s*(?:tell|give|say) me\b", re.IGNORECASE)
"""An error that asks something: a question at the end, or one followed by what to say ("Which charge is it?
Tell me the merchant and the amount.")."""


class Recovery:
    tools: dict[str, ToolSpec]
    convo: DialogReading
    state: DialogState

    def start(self, spec: ToolSpec, text: str, context: str = "") -> Decision:
        raise NotImplementedError

    def recover(self, spec: ToolSpec | None, outcome: ToolOutcome, message: str) -> bool | Decision:
        """After an error: set up the answer to the question the message asks. True if it asks one; a Decision
        with calls when the fix can be made at once (verifying with details the caller already gave)."""
        pending = self.state.pending
        if pending is not None and any(LOOKUP_FIRST.get(p) == outcome.name for p in outcome.args):
            # The number the caller gave was not found: ask for it again, keep the rest.
            param = next(p for p in outcome.args if LOOKUP_FIRST.get(p) == outcome.name)
            pending.args.pop(param, None)
            self.state.known.pop(param, None)
            pending.slots, pending.question, pending.attempts = [param], message, 0
            return True
        verifier = self.tools.get("verify_identity")
        if (
            spec is not None
            and verifier is not None
            and spec is not verifier
            and _VERIFY_NEEDED.search(message)
        ):
            # Verify first (asking for the details), then make this call again.
            self.state.deferred = {"tool": spec.name, "args": outcome.args}
            started = self.start(verifier, self.convo.latest_user or "")
            return started if started.calls else False
        if spec is None or not _ASKS.search(message):
            if spec is not None and spec.name == "verify_identity":
                self.state.deferred = None
            return False
        named = mentioned(spec, message)
        slots = named or [
            n for n in outcome.args if param_kind(n, properties(spec).get(n, {})) not in ("enum", "bool")
        ]
        # "Those details don't match, try again": the caller re-says what was wrong ("it's 4821, sorry"), and
        # the rest stands. A message naming the detail ("I couldn't find that policy number") asks for it anew.
        args = {k: v for k, v in outcome.args.items() if k not in named}
        self.state.pending = Pending(spec.name, args, slots, message)
        return True
