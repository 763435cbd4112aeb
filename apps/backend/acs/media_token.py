"""The per-call token we put in the media `transportUrl`: the second lock on the media WebSocket.

Format: base64url(json payload) "." base64url(HMAC-SHA256(secret, payload)). The payload names the call
and an expiry; ACS must open the WebSocket before then. Stateless, so any replica holding the secret can
check it.
"""

from __future__ import annotations

import time

from pydantic import BaseModel, ValidationError

from apps.backend.signed_tokens import TokenFormatError, sign_token, signed_payload


class MediaTokenError(Exception):
    pass


class MediaTokenClaims(BaseModel, frozen=True):
    call_id: str
    exp: int


_REFUSALS = {"malformed": "malformed media token", "signature mismatch": "media token signature mismatch"}


class MediaTokenSigner:
    def __init__(self, secret: bytes, ttl_seconds: int) -> None:
        if len(secret) < 16:
            raise ValueError("media token secret must be at least 16 bytes")
        self._secret = secret
        self._ttl = ttl_seconds

    def issue(self, call_id: str, *, now: float | None = None) -> str:
        issued = time.time() if now is None else now
        return sign_token(self._secret, {"call_id": call_id, "exp": int(issued) + self._ttl})

    def verify(self, token: str | None, *, now: float | None = None) -> MediaTokenClaims:
        if not token:
            raise MediaTokenError("missing media token")
        try:
            payload = signed_payload(self._secret, token)
        except TokenFormatError as exc:
            raise MediaTokenError(_REFUSALS[exc.problem]) from exc
        try:
            claims = MediaTokenClaims.model_validate_json(payload)
        except ValidationError as exc:
            raise MediaTokenError("malformed media token payload") from exc
        if claims.exp < (time.time() if now is None else now):
            raise MediaTokenError("media token expired")
        return claims
