"""The simulator's signing key: the RS256 JWTs ACS puts on callbacks and on the media WebSocket upgrade.

A fresh RSA key is generated per simulator instance; the backend fetches the public half from the JWKS
the simulator serves (`defaults.JWKS_PATH`), exactly as it fetches Microsoft's keys in production.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from apps import loopback_acs as defaults

TOKEN_LIFETIME_S = 300
ALGORITHM = "RS256"


class TokenIssuer:
    """Mints ACS-style bearer tokens and publishes the matching JWKS."""

    def __init__(
        self,
        *,
        issuer: str = defaults.SIMULATOR_ISSUER,
        audience: str = defaults.SIMULATOR_RESOURCE_ID,
        lifetime_s: int = TOKEN_LIFETIME_S,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self.lifetime_s = lifetime_s
        self.kid = uuid.uuid4().hex
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def mint(self, *, now: float | None = None, extra_claims: dict[str, Any] | None = None) -> str:
        """A new token: call once per callback post / WebSocket connection, never reuse."""
        issued = int(now if now is not None else time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "iat": issued,
            "nbf": issued,
            "exp": issued + self.lifetime_s,
            "jti": uuid.uuid4().hex,
        }
        if extra_claims:
            claims.update(extra_claims)
        return jwt.encode(claims, self._key, algorithm=ALGORITHM, headers={"kid": self.kid})

    def bearer(self, **kwargs: Any) -> str:
        return f"Bearer {self.mint(**kwargs)}"

    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        jwk = json.loads(RSAAlgorithm.to_jwk(self._key.public_key()))
        jwk.update({"kid": self.kid, "use": "sig", "alg": ALGORITHM})
        return {"keys": [jwk]}

    def openid_configuration(self, jwks_uri: str) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "jwks_uri": jwks_uri,
            "id_token_signing_alg_values_supported": [ALGORITHM],
            "token_endpoint_auth_signing_alg_values_supported": [ALGORITHM],
        }
