"""The per-call token we put in the media `transportUrl`: the second lock on the media WebSocket.

Format: base64url(json payload) "." base64url(HMAC-SHA256(secret, payload)). The payload names the call
and an expiry; ACS must open the WebSocket before then. Stateless, so any replica holding the secret can
check it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import orjson
from pydantic import BaseModel, ValidationError


class MediaTokenError(Exception):
    pass


class MediaTokenClaims(BaseModel, frozen=True):
    call_id: str
    exp: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class MediaTokenSigner:
    def __init__(self, secret: bytes, ttl_seconds: int) -> None:
        if len(secret) < 16:
            raise ValueError("media token secret must be at least 16 bytes")
        self._secret = secret
        self._ttl = ttl_seconds

    def issue(self, call_id: str, *, now: float | None = None) -> str:
        issued = time.time() if now is None else now
        payload = orjson.dumps({"call_id": call_id, "exp": int(issued) + self._ttl})
        return f"{_b64(payload)}.{_b64(self._sign(payload))}"

    def verify(self, token: str | None, *, now: float | None = None) -> MediaTokenClaims:
        if not token:
            raise MediaTokenError("missing media token")
        encoded_payload, sep, encoded_sig = token.partition(".")
        if not sep:
            raise MediaTokenError("malformed media token")
        try:
            payload = _unb64(encoded_payload)
            signature = _unb64(encoded_sig)
        except ValueError as exc:
            raise MediaTokenError("malformed media token") from exc
        if not hmac.compare_digest(signature, self._sign(payload)):
            raise MediaTokenError("media token signature mismatch")
        try:
            claims = MediaTokenClaims.model_validate_json(payload)
        except ValidationError as exc:
            raise MediaTokenError("malformed media token payload") from exc
        if claims.exp < (time.time() if now is None else now):
            raise MediaTokenError("media token expired")
        return claims

    def _sign(self, payload: bytes) -> bytes:
        return hmac.new(self._secret, payload, hashlib.sha256).digest()
