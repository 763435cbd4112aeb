"""Keyed digits gathered into one entry, like the SpeechCascade's: sent after a pause, or at once on '#'."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class KeyPad:
    def __init__(self, timeout_s: float, on_entry: Callable[[str], None]) -> None:
        self._timeout_s = timeout_s
        self._on_entry = on_entry
        self._digits: list[str] = []
        self._timer: asyncio.TimerHandle | None = None

    @property
    def pending(self) -> bool:
        """Digits keyed and not yet sent (the caller is mid-entry)."""
        return bool(self._digits)

    def press(self, digit: str) -> None:
        self.cancel()
        if digit == "#":
            self._flush()
            return
        self._digits.append(digit)
        self._timer = asyncio.get_running_loop().call_later(self._timeout_s, self._flush)

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _flush(self) -> None:
        self._timer = None
        if self._digits:
            digits, self._digits = "".join(self._digits), []
            self._on_entry(digits)
