"""Session tokens: signed, scoped to one session and one purpose, expiring; each refusal with its status."""

from __future__ import annotations

import pytest

from apps.backend.acs.media_token import MediaTokenSigner
from apps.backend.sessions.tokens import SessionTokenError, SessionTokenSigner, TokenPurpose, derive_key

SECRET = b"0123456789abcdef0123456789abcdef"


def _refusal(signer: SessionTokenSigner, token: str | None, **kw: object) -> tuple[str, int]:
    with pytest.raises(SessionTokenError) as raised:
        signer.verify(token, **{"session_id": "s1", "purpose": TokenPurpose.MEDIA, **kw})  # type: ignore[arg-type]
    return raised.value.reason, raised.value.status


def test_a_token_opens_its_session_for_its_purpose_until_it_expires() -> None:
    signer = SessionTokenSigner(derive_key(SECRET), ttl_seconds=300)
    token, expires_at = signer.issue("s1", TokenPurpose.MEDIA, now=1000)
    assert expires_at == 1300
    claims = signer.verify(token, session_id="s1", purpose=TokenPurpose.MEDIA, now=1299)
    assert (claims.sid, claims.purpose) == ("s1", TokenPurpose.MEDIA)
    assert _refusal(signer, token, now=1301) == ("session token expired", 401)
    assert _refusal(signer, token, session_id="s2", now=1000) == ("session token is for another session", 403)
    assert _refusal(signer, token, purpose=TokenPurpose.EVENTS, now=1000) == (
        "session token is for media, not events",
        403,
    )
    assert signer.issue("s1", TokenPurpose.MEDIA)[0] != signer.issue("s1", TokenPurpose.MEDIA)[0]


def test_missing_malformed_forged_and_foreign_tokens_are_401() -> None:
    signer = SessionTokenSigner(derive_key(SECRET), ttl_seconds=300)
    token, _ = signer.issue("s1", TokenPurpose.MEDIA)
    other = SessionTokenSigner(derive_key(b"another-secret-of-32-bytes-long!"), ttl_seconds=300)
    assert _refusal(signer, None) == ("missing session token", 401)
    assert _refusal(signer, "no-dot") == ("malformed session token", 401)
    assert _refusal(signer, other.issue("s1", TokenPurpose.MEDIA)[0]) == (
        "session token signature mismatch",
        401,
    )
    # The media token of a phone call (same secret, other key) is no session token.
    media = MediaTokenSigner(SECRET, 120).issue("s1")
    assert _refusal(signer, media) == ("session token signature mismatch", 401)
    assert _refusal(signer, token + "x") == ("session token signature mismatch", 401)
