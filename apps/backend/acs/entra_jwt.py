"""Verification of the Entra ID access tokens Event Grid puts on deliveries to an Entra-protected webhook.

Event Grid's own application gets an app-only token for the webhook's app registration (the one set on the
subscription) and sends it as `Authorization: Bearer <JWT>`. We check what Microsoft's token validation guidance
asks of a resource server: RS256 signature by a key from the tenant's JWKS, issuer of the tenant (v2.0
`https://login.microsoftonline.com/<tenant>/v2.0` or v1.0 `https://sts.windows.net/<tenant>/`), audience (the
app id or app id URI), lifetime (exp, nbf), tenant (`tid`), and the app role Event Grid's service principal is
assigned (`roles` holds AzureEventGridSecureWebhookSubscriber); optionally the client (`appid` / `azp`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jwt

from apps.backend.acs.signing_keys import SigningKeyError, SigningKeys, bearer_token, rs256_key_id

EVENT_GRID_ROLE = "AzureEventGridSecureWebhookSubscriber"
AUTHORITY = "https://login.microsoftonline.com"


class EntraAuthError(Exception):
    """The bearer token is missing, malformed, expired, for someone else, or not signed by the tenant."""


def tenant_issuers(tenant_id: str) -> tuple[str, str]:
    """The v2.0 and v1.0 issuers of a tenant (which one a token carries follows the app's token version)."""
    return f"{AUTHORITY}/{tenant_id}/v2.0", f"https://sts.windows.net/{tenant_id}/"


def tenant_jwks_url(tenant_id: str) -> str:
    return f"{AUTHORITY}/{tenant_id}/discovery/v2.0/keys"


class EntraTokenVerifier:
    def __init__(
        self,
        *,
        tenant_id: str,
        audiences: Sequence[str],
        keys: SigningKeys,
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
        try:
            token = bearer_token(header)
        except ValueError as exc:
            raise EntraAuthError(str(exc)) from exc
        return await self.verify(token)

    async def verify(self, token: str) -> dict[str, Any]:
        try:
            key = await self._keys.key(rs256_key_id(token))
        except ValueError as exc:
            raise EntraAuthError(str(exc)) from exc
        except SigningKeyError as exc:
            raise EntraAuthError(f"the tenant's {exc}" if "unavailable" in str(exc) else str(exc)) from exc
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
