"""A loopback stand-in for an Entra tenant: its signing key served as a JWKS over HTTP, and the app-only access
tokens Event Grid gets for an Entra-protected webhook (v2.0 or v1.0 issuer, the app role, tid, azp/appid)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from apps.acs_simulator.serving import ServedApp
from apps.acs_simulator.tokens import TokenIssuer
from apps.backend.acs.entra_jwt import EVENT_GRID_ROLE, tenant_issuers

TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
APP_ID = "0d5c0c2e-4c8b-4d7e-9a55-9f4b4a7a1c11"  # the webhook's app registration
APP_ID_URI = "api://switchboard-webhook"
EVENT_GRID_APP_ID = "4962773b-9cdb-44cf-a8bf-237846a00ab7"
JWKS_PATH = f"/{TENANT_ID}/discovery/v2.0/keys"


class LoopbackEntraTenant:
    def __init__(self) -> None:
        v2, _ = tenant_issuers(TENANT_ID)
        self.signer = TokenIssuer(issuer=v2, audience=APP_ID, lifetime_s=3600)
        self.served = ServedApp(self._app())

    def _app(self) -> FastAPI:
        app = FastAPI()

        @app.get(JWKS_PATH)
        async def keys() -> dict[str, Any]:
            return self.signer.jwks()

        return app

    @property
    def jwks_url(self) -> str:
        return self.served.base_url + JWKS_PATH

    def token(self, *, signer: TokenIssuer | None = None, now: float | None = None, **claims: Any) -> str:
        """What Event Grid sends; keyword claims override (iss, aud, roles, ...)."""
        base: dict[str, Any] = {
            "tid": TENANT_ID,
            "azp": EVENT_GRID_APP_ID,
            "roles": [EVENT_GRID_ROLE],
            "ver": "2.0",
        }
        base.update(claims)
        return (signer or self.signer).mint(now=now, extra_claims=base)

    def bearer(self, **kwargs: Any) -> str:
        return f"Bearer {self.token(**kwargs)}"


@asynccontextmanager
async def loopback_tenant() -> AsyncIterator[LoopbackEntraTenant]:
    tenant = LoopbackEntraTenant()
    await tenant.served.start()
    try:
        yield tenant
    finally:
        await tenant.served.stop()
