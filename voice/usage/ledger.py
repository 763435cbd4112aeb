"""One call's usage ledger, and the meter providers report to.

Providers are shared by every call, so they do not hold a call's ledger: the call's task sets it as the
current ledger (`metering`), every task the call starts inherits it (context variables are copied into new
tasks), and a provider calls `report(...)` where it learns its usage (the end of a chat stream, a realtime
`response.done`, an STT session's close, a TTS request). Nothing here awaits or touches Redis: the ledger is
plain memory, written out with the call record behind the call.

Counted once: a report may carry a `key` (a realtime response id); a key already seen is ignored, so a
`response.done` replayed after a reconnect is not counted again.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar

from voice.usage.amounts import UsageAmounts, UsageLine

MAX_KEYS = 4096
"""Response ids remembered per call for de-duplication (a call has far fewer responses)."""

_Key = tuple[str, str, str]


class UsageLedger:
    """Running usage totals of one call by (provider, model, agent). Owned by the call; never shared."""

    def __init__(self, *, agent_of: Callable[[], str] | None = None) -> None:
        self._agent_of = agent_of
        self._totals: dict[_Key, UsageAmounts] = {}
        self._published: dict[_Key, UsageAmounts] = {}
        self._seen: OrderedDict[str, None] = OrderedDict()
        self.version = 0
        """Grows with every recorded report: a cheap "anything new?" check for writers."""

    def set_agent_source(self, agent_of: Callable[[], str]) -> None:
        """Where reports without an explicit agent are attributed (the call's active agent)."""
        self._agent_of = agent_of

    def record(
        self,
        provider: str,
        model: str,
        amounts: UsageAmounts,
        *,
        agent: str | None = None,
        key: str | None = None,
    ) -> bool:
        """Add one report. False (and nothing counted) when `key` was recorded before or it is empty."""
        if key is not None:
            if key in self._seen:
                return False
            self._seen[key] = None
            if len(self._seen) > MAX_KEYS:
                self._seen.popitem(last=False)
        if amounts.is_empty():
            return False
        who = agent if agent is not None else (self._agent_of() if self._agent_of is not None else "")
        slot = (provider, model or "", who)
        previous = self._totals.get(slot)
        self._totals[slot] = amounts if previous is None else previous.plus(amounts)
        self.version += 1
        return True

    def lines(self) -> list[UsageLine]:
        return [_line(slot, amounts) for slot, amounts in self._totals.items()]

    def restore(self, lines: Iterable[UsageLine]) -> None:
        """Continue from totals written before (the call resumed on this worker): they count as published."""
        for line in lines:
            slot = (line.provider, line.model, line.agent)
            self._totals[slot] = line.usage
            self._published[slot] = line.usage

    def take_increment(self) -> list[UsageLine]:
        """What was recorded since the last call of this method (for incremental `cost_update` events and
        counters): each amount is handed out exactly once."""
        increment = []
        for slot, amounts in self._totals.items():
            before = self._published.get(slot)
            delta = amounts if before is None else amounts.minus(before)
            if not delta.is_empty():
                increment.append(_line(slot, delta))
                self._published[slot] = amounts
        return increment


def _line(slot: _Key, amounts: UsageAmounts) -> UsageLine:
    provider, model, agent = slot
    return UsageLine(provider=provider, model=model, agent=agent, usage=amounts)


_current: ContextVar[UsageLedger | None] = ContextVar("switchboard_usage_ledger", default=None)


def current_ledger() -> UsageLedger | None:
    """The ledger of the call this code runs for, if any (none in tools, tests and benchmarks)."""
    return _current.get()


@contextlib.contextmanager
def metering(ledger: UsageLedger) -> Iterator[UsageLedger]:
    """Make `ledger` the current one for this task and every task it starts inside the block."""
    token = _current.set(ledger)
    try:
        yield ledger
    finally:
        _current.reset(token)


def report(
    provider: str,
    model: str,
    amounts: UsageAmounts,
    *,
    agent: str | None = None,
    key: str | None = None,
    ledger: UsageLedger | None = None,
) -> None:
    """Record usage on `ledger`, else on the current call's ledger; nothing when there is neither."""
    target = ledger if ledger is not None else _current.get()
    if target is not None:
        target.record(provider, model, amounts, agent=agent, key=key)
