"""Who may open a realtime session: API keys (constant-time compare) and short-lived client secrets.

A client secret is self-contained: `ek_<payload>.<signature>`, the payload a base64url JSON of its expiry
and an optional initial session config, signed with HMAC-SHA256. Nothing is stored server-side, so any
replica holding the same key verifies it; expiry is the only revocation.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from apps.realtime_server.protocol import RealtimeSessionConfig

PREFIX = "ek_"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class SecretClaims:
    expires_at: int
    session: RealtimeSessionConfig | None


class ClientSecretSigner:
    def __init__(self, key: bytes, *, clock: Callable[[], float] = time.time) -> None:
        if len(key) < 16:
            raise ValueError("the client secret signing key needs at least 16 bytes")
        self._key = key
        self._clock = clock

    def issue(self, ttl_s: int, session: RealtimeSessionConfig | None = None) -> tuple[str, int]:
        """A new secret valid for `ttl_s` seconds: (value, expires_at as unix seconds)."""
        expires_at = int(self._clock()) + int(ttl_s)
        claims: dict[str, Any] = {"exp": expires_at, "nonce": secrets.token_hex(8)}
        if session is not None:
            claims["session"] = session.model_dump(mode="json")
        payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
        return f"{PREFIX}{payload}.{self._sign(payload)}", expires_at

    def verify(self, value: str) -> SecretClaims | None:
        """The claims of a genuine, unexpired secret; None for anything else."""
        if not value.startswith(PREFIX) or value.count(".") != 1:
            return None
        payload, signature = value[len(PREFIX) :].split(".")
        if not hmac.compare_digest(signature.encode(), self._sign(payload).encode()):
            return None
        try:
            claims = json.loads(_unb64(payload))
            expires_at = int(claims["exp"])
            raw = claims.get("session")
            session = RealtimeSessionConfig.model_validate(raw) if raw is not None else None
        except (ValueError, KeyError, TypeError):
            return None
        if expires_at <= self._clock():
            return None
        return SecretClaims(expires_at=expires_at, session=session)

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())


@dataclass(frozen=True)
class Grant:
    """An accepted credential: a client secret may carry the session's initial config."""

    session: RealtimeSessionConfig | None = None


class RealtimeAuth:
    def __init__(self, api_keys: Sequence[str], secrets: ClientSecretSigner | None = None) -> None:
        self._keys = [k.encode() for k in api_keys if k]
        self._secrets = secrets

    def check(self, credential: str | None) -> Grant | None:
        """A grant for a valid API key or client secret, else None."""
        if not credential:
            return None
        if credential.startswith(PREFIX) and self._secrets is not None:
            claims = self._secrets.verify(credential)
            if claims is not None:
                return Grant(session=claims.session)
        given = credential.encode()
        matched = False
        for key in self._keys:  # compare with every key so timing does not say which one matched
            matched |= hmac.compare_digest(given, key)
        return Grant() if matched else None
