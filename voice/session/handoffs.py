"""How one agent hands the call to another in a scenario (from the agent's handoff tool)."""

from __future__ import annotations

from registries.toolstore.catalog import ToolCatalog
from registries.toolstore.context import HandoffTarget


def handoff_edge(catalog: ToolCatalog, target: str) -> HandoffTarget:
    """How this agent hands off to `target` in this scenario (type, shared context), from its handoff tool."""
    for spec in catalog.values():
        if spec.handoff is not None and spec.handoff.agent == target:
            return spec.handoff
    return HandoffTarget(agent=target)
