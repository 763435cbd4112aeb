"""What the agent just asked the caller for, as recognition can use it: the brain's pending slot, passed from the
brain (`ChatDone.expects`) through the cascade to the recogniser for the caller's next turn
(`voice.stt.base.ExpectingSession`).

A hint, never a constraint: the caller may answer something else entirely ("actually, what's my balance?"), so
a recogniser uses it to choose between readings it already has, or to read a turn again, not to force an answer.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Expectation:
    """The answer the agent's last question asks for."""

    lengths: tuple[int, ...] = ()
    """How many digits the number asked for has (4 for the last four digits, 6 for a policy number's digits
    after its letters, 7 for a claim number); empty when no number is asked for or its length is unknown."""
    letters: int = 0
    """How many letters the identifier starts with ("AU-482913": 2); 0 for none."""
    date: bool = False
    """A calendar date answers it (a date of birth, the day something happened)."""
    label: str = ""
    """What is asked for, in a few words ("the last four digits", "a policy number like AU-482913"), for logs
    and for providers that can only take a phrase."""

    @property
    def digits(self) -> bool:
        """A digit string answers it."""
        return bool(self.lengths)

    def describe(self) -> str:
        """A short description for logs: "4 digits or a date", "2 letters + 6 digits"."""
        parts = []
        if self.lengths:
            count = "/".join(str(n) for n in self.lengths)
            parts.append(f"{self.letters} letters + {count} digits" if self.letters else f"{count} digits")
        if self.date:
            parts.append("a date")
        return " or ".join(parts) or self.label or "-"
