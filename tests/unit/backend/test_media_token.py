import pytest

from apps.backend.acs.media_token import MediaTokenError, MediaTokenSigner

SECRET = b"0123456789abcdef0123456789abcdef"


def test_issued_token_verifies_and_names_the_call() -> None:
    signer = MediaTokenSigner(SECRET, ttl_seconds=60)
    claims = signer.verify(signer.issue("call-1"))
    assert claims.call_id == "call-1"


def test_expired_token_is_rejected() -> None:
    signer = MediaTokenSigner(SECRET, ttl_seconds=60)
    token = signer.issue("call-1", now=1_000_000)
    with pytest.raises(MediaTokenError, match="expired"):
        signer.verify(token, now=1_000_061)


def test_token_from_another_secret_is_rejected() -> None:
    token = MediaTokenSigner(b"another-secret-of-enough-length!", 60).issue("call-1")
    with pytest.raises(MediaTokenError, match="signature"):
        MediaTokenSigner(SECRET, 60).verify(token)


@pytest.mark.parametrize("token", [None, "", "no-dot", "a.b", "!!!.???"])
def test_missing_or_garbled_token_is_rejected(token: str | None) -> None:
    with pytest.raises(MediaTokenError):
        MediaTokenSigner(SECRET, 60).verify(token)


def test_payload_tampering_breaks_the_signature() -> None:
    signer = MediaTokenSigner(SECRET, 60)
    payload, sig = signer.issue("call-1").split(".")
    other_payload, _ = signer.issue("call-2").split(".")
    with pytest.raises(MediaTokenError):
        signer.verify(f"{other_payload}.{sig}")
    assert payload != other_payload


def test_short_secret_is_refused() -> None:
    with pytest.raises(ValueError):
        MediaTokenSigner(b"short", 60)
