"""Short-lived tokens a browser presents to a voice session's sockets (and, later, its WebRTC endpoints).

Format (as the media token's): base64url(json payload) "." base64url(HMAC-SHA256(key, payload)). The payload
names one session, one purpose (`media`: the voice socket; `events`: the events socket), an expiry and a
nonce. The signature is stateless, so any replica holding the key checks it; the rest is checked by the
socket endpoints after it: "refused after the session ended" from the session's record, "one socket per token"
from the nonce's use recorded in Redis (`SessionService.spend_token`), and "one live voice socket per session"
from the call's media slot (`CallService.claim_media`). The WebRTC signaling requests (offer, candidates) are no
socket: they may reuse the media token until it expires; the session takes one offer.

Every refusal is a `SessionTokenError` with a reason safe to return and log, and the HTTP status it maps to:
401 when the token is missing, malformed, forged or expired; 403 when it is valid but not for this session
or this purpose (WebSocket endpoints close with 1008 either way).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from enum import StrEnum

from pydantic import BaseModel, ValidationError

from apps.backend.signed_tokens import TokenFormatError, sign_token, signed_payload


class TokenPurpose(StrEnum):
    MEDIA = "media"
    EVENTS = "events"


class SessionTokenError(Exception):
    def __init__(self, reason: str, status: int = 401) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class SessionTokenClaims(BaseModel, frozen=True):
    sid: str
    purpose: TokenPurpose
    exp: int
    nonce: str


MAX_TOKEN_LENGTH = 1024
_REFUSALS = {"malformed": "malformed session token", "signature mismatch": "session token signature mismatch"}


def derive_key(secret: bytes) -> bytes:
    """A key of its own from the media token secret, so a media token can never pass as a session token."""
    return hmac.new(secret, b"switchboard session tokens v1", hashlib.sha256).digest()


class SessionTokenSigner:
    def __init__(self, key: bytes, ttl_seconds: int) -> None:
        if len(key) < 16:
            raise ValueError("session token key must be at least 16 bytes")
        self._key = key
        self.ttl_seconds = ttl_seconds

    def issue(self, session_id: str, purpose: TokenPurpose, *, now: float | None = None) -> tuple[str, int]:
        """A token for `purpose` on `session_id`, and when it expires (epoch seconds)."""
        expires_at = int(time.time() if now is None else now) + self.ttl_seconds
        claims = {
            "sid": session_id,
            "purpose": purpose.value,
            "exp": expires_at,
            "nonce": secrets.token_hex(8),
        }
        return sign_token(self._key, claims), expires_at

    def verify(
        self, token: str | None, *, session_id: str, purpose: TokenPurpose, now: float | None = None
    ) -> SessionTokenClaims:
        if not token:
            raise SessionTokenError("missing session token")
        try:
            payload = signed_payload(self._key, token, max_length=MAX_TOKEN_LENGTH)
        except TokenFormatError as exc:
            raise SessionTokenError(_REFUSALS[exc.problem]) from exc
        try:
            claims = SessionTokenClaims.model_validate_json(payload)
        except ValidationError as exc:
            raise SessionTokenError("malformed session token payload") from exc
        if claims.exp < (time.time() if now is None else now):
            raise SessionTokenError("session token expired")
        if not hmac.compare_digest(claims.sid.encode(), session_id.encode()):
            raise SessionTokenError("session token is for another session", 403)
        if claims.purpose is not purpose:
            raise SessionTokenError(f"session token is for {claims.purpose.value}, not {purpose.value}", 403)
        return claims
