"""Verification of the Entra ID access tokens Event Grid puts on deliveries to an Entra-protected webhook.

Event Grid's own application gets an app-only token for the webhook's app registration (the one set on the
subscription) and sends it as `Authorization: Bearer <JWT>`. We check what Microsoft's token validation guidance
asks of a resource server: RS256 signature by a key from the tenant's JWKS, issuer of the tenant (v2.0
`https://login.microsoftonline.com/<tenant>/v2.0` or v1.0 `https://sts.windows.net/<tenant>/`), audience (the
app id or app id URI), lifetime (exp, nbf), tenant (`tid`), and the app role Event Grid's service principal is
assigned (`roles` holds AzureEventGridSecureWebhookSubscriber); optionally the client (`appid` / `azp`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Any

import httpx
import jwt

log = logging.getLogger(__name__)

EVENT_GRID_ROLE = "AzureEventGridSecureWebhookSubscriber"
AUTHORITY = "https://login.microsoftonline.com"


class EntraAuthError(Exception):
    """The bearer token is missing, malformed, expired, for someone else, or not signed by the tenant."""


def tenant_issuers(tenant_id: str) -> tuple[str, str]:
    """The v2.0 and v1.0 issuers of a tenant (which one a token carries follows the app's token version)."""
    return f"{AUTHORITY}/{tenant_id}/v2.0", f"https://sts.windows.net/{tenant_id}/"


def tenant_jwks_url(tenant_id: str) -> str:
    return f"{AUTHORITY}/{tenant_id}/discovery/v2.0/keys"


class JwksKeyCache:
    """A JWKS fetched asynchronously and cached. An unknown `kid` triggers one refresh (key rotation),
    rate-limited so forged tokens cannot make us hammer the key endpoint."""

    def __init__(
        self,
        url: str,
        http: httpx.AsyncClient,
        *,
        cache_seconds: float = 3600.0,
        min_refresh_interval: float = 10.0,
    ) -> None:
        self.url = url
        self._http = http
        self._cache_seconds = cache_seconds
        self._min_refresh_interval = min_refresh_interval
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()

    async def key(self, kid: str) -> jwt.PyJWK:
        if kid not in self._keys or self._stale():
            async with self._lock:
                now = time.monotonic()  # another request may have refreshed while we waited
                wanted = kid not in self._keys or self._stale()
                if wanted and (now - self._fetched_at >= self._min_refresh_interval or not self._keys):
                    await self._refresh()
        key = self._keys.get(kid)
        if key is None:
            raise EntraAuthError("token signed by an unknown key")
        return key

    def _stale(self) -> bool:
        return time.monotonic() - self._fetched_at > self._cache_seconds

    async def _refresh(self) -> None:
        try:
            response = await self._http.get(self.url, timeout=5.0)
            response.raise_for_status()
            jwk_set = jwt.PyJWKSet.from_dict(response.json())
        except (httpx.HTTPError, ValueError, jwt.PyJWTError) as exc:
            # Keep the keys we had: a key endpoint blip must not lock Event Grid out.
            log.warning("entra jwks refresh failed", extra={"jwks_url": self.url, "error": str(exc)})
            self._fetched_at = time.monotonic()
            if not self._keys:
                raise EntraAuthError("the tenant's signing keys are unavailable") from exc
            return
        self._keys = {k.key_id: k for k in jwk_set.keys if k.key_id}
        self._fetched_at = time.monotonic()


class EntraTokenVerifier:
    def __init__(
        self,
        *,
        tenant_id: str,
        audiences: Sequence[str],
        keys: JwksKeyCache,
        client_app_id: str | None = None,
        required_role: str = EVENT_GRID_ROLE,
        leeway_seconds: float = 60.0,
    ) -> None:
        if not audiences:
            raise ValueError("at least one audience is required")
        self._tenant_id = tenant_id.lower()
        self._issuers = tenant_issuers(self._tenant_id)
        self._audiences = list(audiences)
        self._keys = keys
        self._client_app_id = client_app_id.lower() if client_app_id else None
        self._required_role = required_role
        self._leeway = leeway_seconds

    async def verify_authorization_header(self, header: str | None) -> dict[str, Any]:
        if not header:
            raise EntraAuthError("missing Authorization header")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise EntraAuthError("Authorization is not a Bearer token")
        return await self.verify(token.strip())

    async def verify(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise EntraAuthError(f"malformed token: {exc}") from exc
        if header.get("alg") != "RS256":
            raise EntraAuthError("token is not RS256")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise EntraAuthError("token has no kid")
        key = await self._keys.key(kid)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key.key,
                algorithms=["RS256"],
                audience=self._audiences,
                issuer=self._issuers,
                leeway=self._leeway,
                options={"require": ["exp", "iat", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise EntraAuthError(f"invalid token: {exc}") from exc
        self._check_claims(claims)
        return claims

    def _check_claims(self, claims: dict[str, Any]) -> None:
        tid = claims.get("tid")
        if tid is not None and str(tid).lower() != self._tenant_id:
            raise EntraAuthError("token is from another tenant")
        roles = claims.get("roles")
        if not isinstance(roles, list) or self._required_role not in roles:
            raise EntraAuthError(f"token does not carry the {self._required_role} role")
        if self._client_app_id is not None:
            client = claims.get("azp") or claims.get("appid")
            if not isinstance(client, str) or client.lower() != self._client_app_id:
                raise EntraAuthError("token was issued to another client application")
