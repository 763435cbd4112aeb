"""Cuts a stream of LLM tokens into clauses that can be spoken as soon as they are complete.

TTS sounds natural only on whole phrases, but waiting for the whole reply adds its full generation time to
the caller's wait. So the first clause goes out at the first comma-like break once it is long enough to be
worth a TTS request; later ones at sentence ends (or at a comma when a sentence runs long). A break needs
whitespace after the punctuation, so "1,000", "$3.50" and "e.g.x" never split.
"""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"[.!?]+[\"')\]]*\s")
_SOFT_BREAK = re.compile(r"[,;:\u2014]\s")
_ABBREVIATIONS = ("mr.", "mrs.", "ms.", "dr.", "st.", "e.g.", "i.e.", "vs.", "no.", "approx.")


class ClauseSplitter:
    def __init__(self, *, first_min_chars: int = 12, soft_break_chars: int = 60) -> None:
        self._first_min = first_min_chars
        self._soft_break = soft_break_chars
        self._buffer = ""
        self._emitted_any = False

    def feed(self, text: str) -> list[str]:
        """Add streamed text; return the clauses it completed (possibly none)."""
        self._buffer += text
        clauses: list[str] = []
        while (cut := self._next_cut()) is not None:
            clause, self._buffer = self._buffer[:cut].strip(), self._buffer[cut:]
            if clause:
                clauses.append(clause)
                self._emitted_any = True
        return clauses

    def flush(self) -> str | None:
        """The unfinished tail once the stream ended (None if empty)."""
        tail, self._buffer = self._buffer.strip(), ""
        return tail or None

    def _next_cut(self) -> int | None:
        for match in _SENTENCE_END.finditer(self._buffer):
            words = self._buffer[: match.start() + 1].rsplit(None, 1)
            if words and words[-1].lower() in _ABBREVIATIONS:
                continue
            if len(self._buffer[: match.end()].strip()) >= 2:
                return match.end()
        limit = self._soft_break if self._emitted_any else self._first_min
        for match in _SOFT_BREAK.finditer(self._buffer):
            if match.end() >= limit:
                return match.end()
        return None
