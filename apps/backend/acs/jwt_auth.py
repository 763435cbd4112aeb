"""Verification of the JWTs ACS puts on callbacks and on the media WebSocket upgrade.

RS256, short-lived (5 minutes), a new token per event. Issuer and keys come from the ACS OpenID
configuration (`issuer`, `jwks_uri`) unless both are given explicitly; the keys are `SigningKeys` (fetched
lazily, cached, one shared and rate-limited refetch for an unknown `kid`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from apps.backend.acs.signing_keys import SigningKeyError, SigningKeys, bearer_token, rs256_key_id

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
        self._timeout = httpx.Timeout(fetch_timeout_seconds)
        self._leeway = leeway_seconds
        self._clock = clock
        self._discovered: OpenIdConfiguration | None = None
        self._discovered_at = 0.0
        self._keys = SigningKeys(
            self._keys_url,
            http,
            cache_seconds=cache_seconds,
            min_refresh_interval=min_refresh_interval,
            fetch_timeout_seconds=fetch_timeout_seconds,
            clock=clock,
        )

    @property
    def refresh_attempts(self) -> int:
        return self._keys.refresh_attempts

    async def verify_authorization_header(self, header: str | None) -> dict[str, Any]:
        try:
            token = bearer_token(header)
        except ValueError as exc:
            raise AcsAuthError(str(exc)) from exc
        return await self.verify(token)

    async def verify(self, token: str) -> dict[str, Any]:
        try:
            key = await self._keys.key(rs256_key_id(token))
        except ValueError as exc:
            raise AcsAuthError(str(exc)) from exc
        except SigningKeyError as exc:
            raise AcsAuthError(f"ACS {exc}") from exc
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
                    raise SigningKeyError(
                        f"OpenID configuration {self._openid_config_url} is unavailable: "
                        f"{exc.__class__.__name__}"
                    ) from exc
                log.warning("acs openid configuration refresh failed; keeping the previous one")
        assert self._discovered is not None
        return self._jwks_url or self._discovered.jwks_uri
