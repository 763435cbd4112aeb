"""Verification of the JWTs ACS puts on callbacks and on the media WebSocket upgrade.

RS256, short-lived (5 minutes), a new token per event. Issuer and keys come from the ACS OpenID
configuration (`issuer`, `jwks_uri`) unless both are given explicitly. Everything is fetched lazily,
asynchronously and cached: a request only waits for a fetch when the cache is empty or the token names a
key we do not know (key rotation, or a new simulator run). Such refetches are shared by every request
waiting at the time and rate-limited (one per `min_refresh_interval`), so a flood of forged `kid`s cannot
make us hammer the JWKS endpoint.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

log = logging.getLogger(__name__)


class AcsAuthError(Exception):
    """The request is not from ACS (missing, malformed, expired or wrongly signed token)."""


class OpenIdConfiguration(BaseModel):
    """The two fields of an OpenID configuration document we use."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    issuer: str
    jwks_uri: str

    @field_validator("jwks_uri")
    @classmethod
    def _http(cls, value: str) -> str:
        if urlsplit(value).scheme not in ("http", "https"):
            raise ValueError("jwks_uri must be an http(s) URL")
        return value


class AcsJwtVerifier:
    def __init__(
        self,
        *,
        audience: str,
        http: httpx.AsyncClient,
        openid_config_url: str | None = None,
        jwks_url: str | None = None,
        issuer: str | None = None,
        cache_seconds: float = 3600.0,
        min_refresh_interval: float = 1.0,
        fetch_timeout_seconds: float = 5.0,
        leeway_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if openid_config_url is None and (jwks_url is None or issuer is None):
            raise ValueError("without an OpenID configuration URL both jwks_url and issuer are needed")
        self._openid_config_url = openid_config_url
        self._jwks_url = jwks_url  # explicit: wins over the configuration's jwks_uri
        self._issuer = issuer  # explicit: wins over the configuration's issuer
        self._audience = audience
        self._http = http
        self._cache_seconds = cache_seconds
        self._min_refresh_interval = min_refresh_interval
        self._timeout = httpx.Timeout(fetch_timeout_seconds)
        self._leeway = leeway_seconds
        self._clock = clock
        self._discovered: OpenIdConfiguration | None = None
        self._discovered_at = 0.0
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._last_attempt: float | None = None
        self._attempts = 0  # refresh attempts so far: how a waiter knows someone fetched for it
        self._lock = asyncio.Lock()

    @property
    def refresh_attempts(self) -> int:
        return self._attempts

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
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise AcsAuthError("token has no kid")
        key = await self._key_for(kid)
        issuer = self._expected_issuer()
        if issuer is None:
            raise AcsAuthError("the ACS OpenID configuration is unavailable")
        try:
            return jwt.decode(
                token,
                key=key.key,
                algorithms=["RS256"],
                issuer=issuer,
                audience=self._audience,
                leeway=self._leeway,
                options={"require": ["exp", "iat", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise AcsAuthError(f"invalid token: {exc}") from exc

    def _expected_issuer(self) -> str | None:
        if self._issuer is not None:
            return self._issuer
        return self._discovered.issuer if self._discovered is not None else None

    def _stale(self) -> bool:
        return self._fetched_at is None or self._clock() - self._fetched_at > self._cache_seconds

    async def _key_for(self, kid: str) -> jwt.PyJWK:
        key = self._keys.get(kid)
        if key is not None:
            if self._stale() and not self._lock.locked() and self._may_attempt_now():
                # Hourly refresh of a known key: whoever finds the lock free does it; nobody waits for it,
                # and a failed refresh keeps the keys we had (a JWKS blip must not lock out ACS).
                async with self._lock:
                    await self._refresh()
            return self._keys.get(kid, key)
        # Unknown kid: one refetch, shared by every request queued behind it.
        seen = self._attempts
        async with self._lock:
            # Skip if the key arrived meanwhile, or a fetch that began after we asked has come and gone.
            if kid not in self._keys and self._attempts == seen:
                wait = self._seconds_until_next_attempt()
                if wait > 0:
                    await asyncio.sleep(wait)
                await self._refresh()
        key = self._keys.get(kid)
        if key is None:
            known = "token signed by an unknown key"
            raise AcsAuthError(known if self._keys else "ACS signing keys are unavailable")
        return key

    def _seconds_until_next_attempt(self) -> float:
        if self._last_attempt is None:
            return 0.0
        return self._last_attempt + self._min_refresh_interval - self._clock()

    def _may_attempt_now(self) -> bool:
        return self._seconds_until_next_attempt() <= 0

    async def _refresh(self) -> None:
        self._attempts += 1
        self._last_attempt = self._clock()
        try:
            jwks_url = await self._keys_url()
            response = await self._http.get(jwks_url, timeout=self._timeout, follow_redirects=True)
            response.raise_for_status()
            jwk_set = jwt.PyJWKSet.from_dict(response.json())
        except (httpx.HTTPError, ValueError, jwt.PyJWTError, AcsAuthError) as exc:
            log.warning(
                "acs signing keys refresh failed", extra={"error": f"{exc.__class__.__name__}: {exc}"}
            )
            return
        self._keys = {k.key_id: k for k in jwk_set.keys if k.key_id}
        self._fetched_at = self._clock()

    async def _keys_url(self) -> str:
        if self._jwks_url is not None and self._issuer is not None:
            return self._jwks_url
        assert self._openid_config_url is not None  # checked in __init__
        if self._discovered is None or self._clock() - self._discovered_at > self._cache_seconds:
            try:
                response = await self._http.get(
                    self._openid_config_url, timeout=self._timeout, follow_redirects=True
                )
                response.raise_for_status()
                self._discovered = OpenIdConfiguration.model_validate_json(response.content)
                self._discovered_at = self._clock()
            except (httpx.HTTPError, ValidationError) as exc:
                if self._discovered is None:
                    raise AcsAuthError(
                        f"ACS OpenID configuration {self._openid_config_url} is unavailable: "
                        f"{exc.__class__.__name__}"
                    ) from exc
                log.warning("acs openid configuration refresh failed; keeping the previous one")
        assert self._discovered is not None
        return self._jwks_url or self._discovered.jwks_uri
