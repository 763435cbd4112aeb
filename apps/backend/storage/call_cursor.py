"""Cursors of the calls list (`RedisCallStore.list_recent`): a position in the by-created sorted set, handed out
and read back by the API, and the reading of a sorted-set reply with scores."""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Iterable


class InvalidCursor(ValueError):
    pass


MAX_CURSOR_CHARS = 256
_CURSOR_MEMBER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")


def encode_cursor(score: float, call_id: str) -> str:
    return base64.urlsafe_b64encode(f"{score!r}:{call_id}".encode()).decode().rstrip("=")


def scored_members(rows: Iterable[object]) -> list[tuple[str, float]]:
    """`(member, score)` pairs of a `withscores=True` sorted-set reply (redis-py types its rows loosely)."""
    pairs: list[tuple[str, float]] = []
    for row in rows:
        if not isinstance(row, (tuple, list)) or len(row) != 2:
            raise TypeError(f"expected (member, score) rows, got {type(row).__name__}")
        member, score = row
        if isinstance(member, bytes):
            member = member.decode()
        if not isinstance(member, str) or not isinstance(score, (int, float)):
            raise TypeError("expected a str/bytes member and a numeric score")
        pairs.append((member, float(score)))
    return pairs


def decode_cursor(cursor: str) -> tuple[float, str]:
    """(score, call id) of a cursor exactly as `encode_cursor` writes it. Validated, not signed: it only says
    where the next page starts in a list the caller may read anyway, and nothing unchecked reaches Redis
    (a NaN score there is an error, not an empty page)."""
    try:
        if len(cursor) > MAX_CURSOR_CHARS:
            raise ValueError("too long")
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
        text, call_id = raw.decode("ascii").split(":", 1)
        score = float(text)
        if not math.isfinite(score) or not _CURSOR_MEMBER.fullmatch(call_id):
            raise ValueError("not a position in the list")
        if encode_cursor(score, call_id) != cursor:  # one spelling only: ours
            raise ValueError("not in canonical form")
        return score, call_id
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidCursor("cursor is not one this API handed out") from exc
