"""Which host addresses the server's WebRTC peers offer as ICE candidates.

aioice (under aiortc) offers every interface's address except loopback. A browser on the same machine can
usually reach those, but a host whose only interface is loopback (a CI sandbox, a laptop offline) cannot
connect at all; `offer_loopback_candidates` adds 127.0.0.1 for the whole process (aioice has no per-connection
option, so this is process-wide by nature and switched on once, at start-up, by a setting).
"""

from __future__ import annotations

from collections.abc import Callable

import aioice.ice

LOOPBACK = "127.0.0.1"

_original: Callable[[bool, bool], list[str]] | None = None


def offer_loopback_candidates() -> None:
    """From now on, every new peer connection also offers 127.0.0.1 (idempotent)."""
    global _original
    if _original is not None:
        return
    original: Callable[[bool, bool], list[str]] = aioice.ice.get_host_addresses
    _original = original

    def with_loopback(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        addresses = list(original(use_ipv4, use_ipv6))
        if use_ipv4 and LOOPBACK not in addresses:
            addresses.append(LOOPBACK)
        return addresses

    aioice.ice.get_host_addresses = with_loopback


def offers_loopback() -> bool:
    return _original is not None


def stop_offering_loopback() -> None:
    """Undo `offer_loopback_candidates` (tests that switch it on put things back)."""
    global _original
    if _original is not None:
        aioice.ice.get_host_addresses = _original  # type: ignore[assignment]
        _original = None
