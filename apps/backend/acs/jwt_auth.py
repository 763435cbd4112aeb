"""Verification of the JWTs ACS puts on callbacks and on the media WebSocket upgrade.

RS256, short-lived (5 minutes), a new token per event; keys come from the ACS JWKS. Keys are fetched
asynchronously and cached; an unknown `kid` triggers one refresh (key rotation), rate-limited so a flood of
forged tokens cannot make us hammer the JWKS endpoint.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import httpx
import jwt

log = logging.getLogger(__name__)


class AcsAuthError(Exception):
    """The request is not from ACS (missing, malformed, expired or wrongly signed token)."""


class AcsJwtVerifier:
    def __init__(
        self,
        jwks_url: str,
        *,
        issuer: str,
        audience: str | None,
        http: httpx.AsyncClient,
        cache_seconds: float = 3600.0,
        min_refresh_interval: float = 10.0,
        leeway_seconds: float = 30.0,
    ) -> None:
        self._jwks_url = jwks_url
        self._issuer = issuer
        self._audience = audience
        self._http = http
        self._cache_seconds = cache_seconds
        self._min_refresh_interval = min_refresh_interval
        self._leeway = leeway_seconds
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()

    async def verify_authorization_header(self, header: str | None) -> dict[str, Any]:
        if not header:
            raise AcsAuthError("missing Authorization header")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AcsAuthError("Authorization is not a Bearer token")
        return await self.verify(token.strip())

    async def verify(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise AcsAuthError(f"malformed token: {exc}") from exc
        if header.get("alg") != "RS256":
            raise AcsAuthError("token is not RS256")
        key = await self._key_for(header.get("kid"))
        try:
            return jwt.decode(
                token,
                key=key.key,
                algorithms=["RS256"],
                issuer=self._issuer,
                audience=self._audience,
                leeway=self._leeway,
                options={"require": ["exp", "iat", "iss"], "verify_aud": self._audience is not None},
            )
        except jwt.PyJWTError as exc:
            raise AcsAuthError(f"invalid token: {exc}") from exc

    async def _key_for(self, kid: str | None) -> jwt.PyJWK:
        if not kid:
            raise AcsAuthError("token has no kid")
        now = time.monotonic()
        stale = now - self._fetched_at > self._cache_seconds
        if kid not in self._keys or stale:
            async with self._lock:
                # Another request may have refreshed while we waited.
                now = time.monotonic()
                if (kid not in self._keys or now - self._fetched_at > self._cache_seconds) and (
                    now - self._fetched_at >= self._min_refresh_interval or not self._keys
                ):
                    await self._refresh()
        key = self._keys.get(kid)
        if key is None:
            raise AcsAuthError("token signed by an unknown key")
        return key

    async def _refresh(self) -> None:
        try:
            response = await self._http.get(self._jwks_url, timeout=5.0)
            response.raise_for_status()
            jwk_set = jwt.PyJWKSet.from_dict(response.json())
        except (httpx.HTTPError, ValueError, jwt.PyJWTError) as exc:
            # Keep the keys we had: a JWKS blip must not lock out ACS.
            log.warning("acs jwks refresh failed", extra={"jwks_url": self._jwks_url, "error": str(exc)})
            self._fetched_at = time.monotonic()
            if not self._keys:
                raise AcsAuthError("ACS signing keys are unavailable") from exc
            return
        self._keys = {k.key_id: k for k in jwk_set.keys if k.key_id}
        self._fetched_at = time.monotonic()
