"""What an orchestrator may ask of the telephony side of its call (implemented by the app over ACS)."""

from __future__ import annotations

from typing import Protocol


class CallControl(Protocol):
    async def hang_up(self, reason: str) -> None:
        """End the call for everyone."""
        ...

    async def transfer_to_human(self, reason: str) -> bool:
        """Transfer the caller to the configured human queue; False if no target is configured or ACS refused."""
        ...
