"""A relay session's limits: how many client events may wait or arrive, and how the upstream is retried.

`RelayPolicy` is built from the settings (`service.relay_policy`); `TokenBucket` throttles one client's events.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

MAX_CLIENT_OUTBOX = 4096
"""Events waiting for a slow client; beyond it the client is closed (it is not reading)."""
RATE_LIMIT_REPORT_EVERY = 50


@dataclass(frozen=True)
class RelayPolicy:
    queue_limit: int = 256
    heartbeat_s: float = 15.0
    connect_timeout_s: float = 10.0
    reconnect_attempts: int = 3
    events_per_second: float = 200.0
    first_backoff_s: float = 0.25
    max_backoff_s: float = 5.0

    def backoff_s(self, attempt: int) -> float:
        return float(min(self.max_backoff_s, self.first_backoff_s * 2 ** max(attempt - 1, 0)))


class TokenBucket:
    def __init__(self, rate: float, burst: float, clock: Callable[[], float]) -> None:
        self._rate, self._burst, self._clock = rate, burst, clock
        self._tokens, self._at = burst, clock()

    def take(self) -> bool:
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._at) * self._rate)
        self._at = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True
