"""Deadlines for one streamed chat reply: the configured budgets (`ChatTimeouts`) and their accounting while
we wait on the provider (`Deadlines`).

Enforced with `asyncio.timeout` around each await on the network, never around a `yield`, so a deadline can
never fire inside the consumer's code; the SDK's own HTTP timeout (`sdk_timeout`) is only a backstop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TypeVar

import openai

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class ChatTimeouts:
    """Deadlines for one reply, in seconds, counted only while waiting on the provider (not while the
    consumer handles an event). A hit raises a retryable `OpenAIChatError`, so the chain falls back."""

    connect_s: float = 3.0
    first_token_s: float = 8.0
    """From the request to the first text or tool-call fragment (time to response headers included)."""
    idle_s: float = 5.0
    """Longest silence between chunks once the reply has started."""
    total_s: float = 30.0
    """The whole reply."""


class Deadlines:
    """Time budgets for one reply, counted only while we wait on the provider: a consumer that takes its
    time between events (speaking a sentence before reading on) does not eat into them."""

    def __init__(self, timeouts: ChatTimeouts) -> None:
        self.timeouts = timeouts
        self.waited_s = 0.0
        self.limit = ""
        """Which budget bounded the last wait, for the error message."""

    async def run(self, awaitable: Awaitable[_T], *, started: bool) -> _T:
        t = self.timeouts
        total_left = t.total_s - self.waited_s
        step, self.limit = (t.idle_s, "idle") if started else (t.first_token_s - self.waited_s, "first_token")
        if total_left <= step:
            step, self.limit = total_left, "total"
        loop = asyncio.get_running_loop()
        begin = loop.time()
        try:
            async with asyncio.timeout(max(0.0, step)):
                return await awaitable
        finally:
            self.waited_s += loop.time() - begin

    def describe_timeout(self) -> str:
        t = self.timeouts
        if self.limit == "first_token":
            return f"no first token within {t.first_token_s:g}s"
        if self.limit == "idle":
            return f"stream stalled: no chunk for {t.idle_s:g}s"
        return f"reply not finished within {t.total_s:g}s"


def sdk_timeout(timeouts: ChatTimeouts) -> openai.Timeout:
    # Backstop only (our asyncio deadlines are tighter); `read` bounds a single socket read.
    return openai.Timeout(timeouts.total_s, connect=timeouts.connect_s)
