"""Keys the caller announced: "I'll just punch in my account number", then 4821 on the keypad. Those keys are
the account's last four, whatever question is open ("how much would you like to move?"): a keypad entry
fills the detail the caller said they would key, and never the amount of a transfer by accident. A base of
`Turn` (`turn.py`), which provides `advance`."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from registries.toolstore.decorator import ToolSpec
from voice.llm.local_brain.decision import Decision
from voice.llm.local_brain.dialog import DialogReading
from voice.llm.local_brain.extract import extract_arguments
from voice.llm.local_brain.keypad import keypad_value
from voice.llm.local_brain.slots import properties
from voice.llm.local_brain.spoken import normalize
from voice.llm.local_brain.state import DialogState

_ANNOUNCED = re.compile(
    r"\b(?:punch|key|type|enter|dial|tap|put)(?:ing)?\s+(?:it\s+|them\s+)?(?:in|in\s+the|out)?\s*(?:my\s+|the\s+)?"
    r"(?P<what>account|card|policy|claim|date of birth|birthday|birth date)\b"
)
_PARAMS = {
    "account": "account_last4",
    "card": "card_last4",
    "policy": "policy_number",
    "claim": "claim_number",
    "date of birth": "date_of_birth",
    "birthday": "date_of_birth",
    "birth date": "date_of_birth",
}


def announced_param(line: str) -> str | None:
    """The parameter a caller said they would key in ("I'll punch in my account number" -> account_last4)."""
    match = _ANNOUNCED.search(normalize(line))
    return _PARAMS[match.group("what")] if match else None


class KeyedEntries:
    tools: dict[str, ToolSpec]
    convo: DialogReading
    state: DialogState
    today: date

    def advance(self, spec: ToolSpec, args: dict[str, Any]) -> Decision:
        raise NotImplementedError

    def on_announced_keys(self, keys: str) -> Decision | None:
        """Fill the detail the caller's previous words announced; None when they announced nothing it fits."""
        lines = self.convo.caller_lines
        before = lines[-2] if len(lines) >= 2 else ""
        param = announced_param(before)
        if param is None:
            return None
        pending = self.state.pending
        owners = [self.tools[pending.tool]] if pending is not None and pending.tool in self.tools else []
        owners += [t for t in self.tools.values() if t.handoff is None and t not in owners]
        spec = next((t for t in owners if param in properties(t)), None)
        if spec is None:
            return None
        value = keypad_value(param, properties(spec)[param], keys, today=self.today)
        if value is None:
            return None
        if pending is not None and spec.name == pending.tool:
            self.state.pending = None
            return self.advance(spec, {**pending.args, param: value})
        args = {**extract_arguments(spec.parameters, before, today=self.today), param: value}
        if pending is not None:  # e.g. verify first, then back to the transfer's open question
            self.state.deferred = {"tool": pending.tool, "args": pending.args, "ask": True}
            self.state.pending = None
        return self.advance(spec, args)
