"""Phrases from the data a scenario's tools serve: the names, places and merchants callers say back to the
agent ("this is Priya Shah", "fourteen Birch Lane in Redmond", "the Bella Pizza charge"). Tool examples rarely
contain them, and an n-gram model cannot produce a word it has never seen.

For the shipped tools (`registries/toolstore/tools`) the data is the demo data set; tools from elsewhere bring
their own data, so they add nothing here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from registries.toolstore.decorator import ToolSpec

_SHIPPED_TOOLS = Path(__file__).resolve().parents[2] / "registries" / "toolstore" / "tools"


_BANKING = frozenset({"accounts", "cards", "fraud", "identity"})
_INSURANCE = frozenset({"claims", "policies"})
"""The shipped tool modules that serve the demo data (call control and triage serve none)."""


def _served(tools: Iterable[ToolSpec]) -> set[str]:
    """The shipped modules among the tools' sources that read the demo data ("cards", "policies", ...)."""
    stems = {
        Path(t.source).stem
        for t in tools
        if t.source is not None and Path(t.source).resolve().parent == _SHIPPED_TOOLS
    }
    return stems & (_BANKING | _INSURANCE)


def uses_demo_data(tools: Iterable[ToolSpec]) -> bool:
    return bool(_served(tools))


def demo_data_phrases(*, banking: bool = True, insurance: bool = True) -> list[str]:
    """How callers say the demo data's people, places and merchants (of the banking and/or insurance data)."""
    from registries.toolstore.demo.dataset import demo_dataset

    data = demo_dataset()
    phrases: list[str] = []
    for customer in data.customers:
        name = customer.full_name
        phrases += [name, f"my name is {name}", f"this is {name}", f"it's {name}", customer.first_name]
    places: list[str] = []
    if banking:
        merchants = {t.merchant for t in data.transactions if t.amount_cents < 0}
        for merchant in sorted(merchants):
            phrases += [merchant, f"the charge at {merchant}", f"{merchant} charged me"]
        places += sorted({t.location for t in data.transactions if t.location})
    if insurance:
        # Policy numbers as callers spell them, "R E 2 1 5 5 6 6" (the model reads the digits; the final pass
        # learns the identifiers' letters from them, see `whisper_text.identifier_prefixes`).
        phrases += [" ".join(ch for ch in policy.number if ch.isalnum()) for policy in data.policies]
        places = (
            [policy.insured_item for policy in data.policies] + [c.location for c in data.claims] + places
        )
    for place in places:
        phrases += [_spoken_place(place), f"at {_spoken_place(place)}", f"in {_spoken_place(place)}"]
    return list(dict.fromkeys(phrases))


def _spoken_place(place: str) -> str:
    """ "14 Birch Lane, Redmond" -> "14 Birch Lane in Redmond" (how it is said; digits are read by the model)."""
    parts = [p.strip() for p in place.split(",") if p.strip()]
    return " in ".join(parts) if len(parts) > 1 else place


def data_phrases(tools: Sequence[ToolSpec]) -> list[str]:
    """The demo data of the domains the tools serve; nothing for a scenario whose tools serve none (triage)."""
    served = _served(tools)
    if not served:
        return []
    return demo_data_phrases(banking=bool(served & _BANKING), insurance=bool(served & _INSURANCE))
