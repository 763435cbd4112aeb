"""API keys and self-contained client secrets."""

from __future__ import annotations

from apps.realtime_server.auth import ClientSecretSigner, RealtimeAuth
from apps.realtime_server.protocol import RealtimeSessionConfig

KEY = b"0123456789abcdef0123456789abcdef"


def test_secret_round_trip_carries_the_session() -> None:
    signer = ClientSecretSigner(KEY, clock=lambda: 1000.0)
    value, expires_at = signer.issue(60, RealtimeSessionConfig(instructions="be brief"))
    assert value.startswith("ek_") and expires_at == 1060
    claims = signer.verify(value)
    assert claims is not None and claims.session is not None
    assert claims.session.instructions == "be brief"


def test_expired_tampered_and_foreign_secrets_are_refused() -> None:
    now = [1000.0]
    signer = ClientSecretSigner(KEY, clock=lambda: now[0])
    value, _ = signer.issue(60)
    payload, signature = value.split(".")
    assert signer.verify(payload + "x." + signature) is None
    assert signer.verify(value[:-1] + ("A" if value[-1] != "A" else "B")) is None
    assert ClientSecretSigner(b"another-key-of-sixteen-bytes", clock=lambda: 1000.0).verify(value) is None
    assert signer.verify("ek_garbage") is None
    now[0] = 1060.0
    assert signer.verify(value) is None


def test_auth_accepts_keys_and_secrets_only() -> None:
    signer = ClientSecretSigner(KEY)
    auth = RealtimeAuth(["k1", "k2"], signer)
    assert auth.check("k2") is not None
    assert auth.check("k3") is None and auth.check(None) is None and auth.check("") is None
    grant = auth.check(signer.issue(30, RealtimeSessionConfig(voice="en-us"))[0])
    assert grant is not None and grant.session is not None and grant.session.voice == "en-us"
