"""WebRTC on loopback only: aioice gathers host candidates on every interface except 127.0.0.1, so the tests
that open real peer connections make it gather exactly 127.0.0.1 (both peers run in this process)."""

from __future__ import annotations

import aioice.ice
import pytest


@pytest.fixture
def loopback_ice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])
