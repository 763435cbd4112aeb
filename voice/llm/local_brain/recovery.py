"""After a tool error: set up the answer to the question the error asks ("those details don't match, try again",
"I couldn't find that policy number"), or fix it at once (verify first, with the details the caller gave). A
base of `Turn` (`turn.py`), which provides `start`."""

from __future__ import annotations

import re
from typing import Any

from registries.toolstore.decorator import ToolSpec
from voice.llm.local_brain.decision import Decision
from voice.llm.local_brain.dialog import DialogReading, ToolOutcome
from voice.llm.local_brain.enums import match_enum
from voice.llm.local_brain.params import param_kind, unwrap
from voice.llm.local_brain.slots import LOOKUP_FIRST, mentioned, properties
from voice.llm.local_brain.state import DialogState, Pending

_VERIFY_NEEDED = re.compile(r"\bverif(?:y|ied|ication)\b", re.IGNORECASE)
_WRONG_KIND = re.compile(r"\bis an? ([a-z]+) policy, so it can't cover\b", re.IGNORECASE)
"""A claim refused because its kind does not fit the policy's kind."""
_ASKS = re.compile(r"\?\s*$|\?\s+(?:tell|give|say|read)\b|^\s*(?:tell|give|say) me\b", re.IGNORECASE)
"""An error that asks something: a question at the end, or one followed by what to say ("Which charge is it?
Tell me the merchant and the amount.")."""


class Recovery:
    tools: dict[str, ToolSpec]
    convo: DialogReading
    state: DialogState

    def start(self, spec: ToolSpec, text: str, context: str = "") -> Decision:
        raise NotImplementedError

    def call(self, spec: ToolSpec, args: dict[str, Any], *, keep_pending: bool = False) -> Decision:
        raise NotImplementedError

    def refit_kind(self, spec: ToolSpec, outcome: ToolOutcome, message: str) -> Decision | None:
        """ "Policy H O ... is a home policy, so it can't cover that incident" when the caller's story names the
        home as well (a car that drove into the garage): the same call with the kind of the policy."""
        refused = _WRONG_KIND.search(message)
        if refused is None:
            return None
        kind, story = refused.group(1).lower(), " ".join(self.convo.caller_lines)
        for name, prop in properties(spec).items():
            values = [str(v) for v in unwrap(prop).get("enum", ())]
            if kind in values and outcome.args.get(name) not in (None, kind) and match_enum(story, [kind]):
                return self.call(spec, {**outcome.args, name: kind})
        return None

    def recover(self, spec: ToolSpec | None, outcome: ToolOutcome, message: str) -> bool | Decision:
        """After an error: set up the answer to the question the message asks. True if it asks one; a Decision
        with calls when the fix can be made at once (verifying with details the caller already gave, or the
        kind of loss the policy covers when the story names it too)."""
        if spec is not None and (refit := self.refit_kind(spec, outcome, message)) is not None:
            return refit
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
