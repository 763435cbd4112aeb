"""Event Grid's Entra bearer tokens, checked against a tenant JWKS served on loopback."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest

from apps.acs_simulator.tokens import TokenIssuer
from apps.backend.acs.entra_jwt import EntraAuthError, EntraTokenVerifier, tenant_issuers
from apps.backend.acs.signing_keys import SigningKeys
from tests.entra_tenant import (
    APP_ID,
    APP_ID_URI,
    EVENT_GRID_APP_ID,
    TENANT_ID,
    LoopbackEntraTenant,
    loopback_tenant,
)

V2_ISSUER, V1_ISSUER = tenant_issuers(TENANT_ID)
OTHER_TENANT = "11111111-2222-3333-4444-555555555555"


@pytest.fixture
async def tenant() -> AsyncIterator[LoopbackEntraTenant]:
    async with loopback_tenant() as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(trust_env=False) as client:
        yield client


def _verifier(tenant: LoopbackEntraTenant, http: httpx.AsyncClient, **kwargs: Any) -> EntraTokenVerifier:
    keys = SigningKeys(tenant.jwks_url, http, min_refresh_interval=kwargs.pop("min_refresh_interval", 10.0))
    return EntraTokenVerifier(tenant_id=TENANT_ID, audiences=[APP_ID, APP_ID_URI], keys=keys, **kwargs)


@pytest.mark.parametrize(
    "claims",
    [
        {},
        {"iss": V1_ISSUER, "ver": "1.0", "appid": EVENT_GRID_APP_ID, "azp": None},
        {"aud": APP_ID_URI},
    ],
    ids=["v2 token", "v1 token", "app id URI audience"],
)
async def test_event_grid_tokens_of_the_tenant_are_accepted(
    tenant: LoopbackEntraTenant, http: httpx.AsyncClient, claims: dict[str, Any]
) -> None:
    verifier = _verifier(tenant, http, client_app_id=EVENT_GRID_APP_ID)
    verified = await verifier.verify_authorization_header(tenant.bearer(**claims))
    assert verified["tid"] == TENANT_ID


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"aud": "api://someone-else"}, "(?i)audience"),
        ({"iss": f"https://login.microsoftonline.com/{OTHER_TENANT}/v2.0"}, "(?i)issuer"),
        ({"iss": "https://sts.windows.net/common/"}, "(?i)issuer"),
        ({"tid": OTHER_TENANT}, "another tenant"),
        ({"roles": None}, "AzureEventGridSecureWebhookSubscriber"),
        ({"roles": ["Reader"]}, "AzureEventGridSecureWebhookSubscriber"),
        ({"azp": "00000000-0000-0000-0000-00000000beef"}, "another client"),
        ({"nbf": int(time.time()) + 3600}, "not yet valid"),
    ],
    ids=[
        "wrong audience",
        "other tenant's issuer",
        "common issuer",
        "other tid",
        "no roles",
        "wrong role",
        "other client",
        "not yet valid",
    ],
)
async def test_tokens_that_are_not_event_grids_for_this_app_are_refused(
    tenant: LoopbackEntraTenant, http: httpx.AsyncClient, claims: dict[str, Any], reason: str
) -> None:
    verifier = _verifier(tenant, http, client_app_id=EVENT_GRID_APP_ID)
    with pytest.raises(EntraAuthError, match=reason):
        await verifier.verify(tenant.token(**claims))


async def test_expired_foreign_and_unsigned_tokens_are_refused(
    tenant: LoopbackEntraTenant, http: httpx.AsyncClient
) -> None:
    verifier = _verifier(tenant, http)
    with pytest.raises(EntraAuthError, match="expired"):
        await verifier.verify(tenant.token(now=time.time() - 7200))
    stranger = TokenIssuer(issuer=V2_ISSUER, audience=APP_ID)  # same claims, a key the tenant never published
    with pytest.raises(EntraAuthError, match="unknown key"):
        await verifier.verify(tenant.token(signer=stranger))
    claims = jwt.decode(tenant.token(), options={"verify_signature": False})
    hs256 = jwt.encode(claims, "a" * 32, algorithm="HS256", headers={"kid": tenant.signer.kid})
    with pytest.raises(EntraAuthError, match="not RS256"):
        await verifier.verify(hs256)
    for header in (None, "Basic abc", "Bearer ", "Bearer not-a-jwt"):
        with pytest.raises(EntraAuthError):
            await verifier.verify_authorization_header(header)


async def test_a_rotated_key_is_fetched_once_and_unknown_kids_do_not_hammer_the_tenant(
    tenant: LoopbackEntraTenant, http: httpx.AsyncClient
) -> None:
    fetches: list[str] = []
    http.event_hooks["request"].append(lambda request: _record(fetches, request))
    verifier = _verifier(tenant, http, min_refresh_interval=0.0)
    await verifier.verify(tenant.token())
    tenant.signer = TokenIssuer(issuer=V2_ISSUER, audience=APP_ID, lifetime_s=3600)  # the tenant rotates
    await verifier.verify(tenant.token())
    assert len(fetches) == 2

    slow = _verifier(tenant, http, min_refresh_interval=3600.0)
    await slow.verify(tenant.token())
    stranger = TokenIssuer(issuer=V2_ISSUER, audience=APP_ID)
    for _ in range(5):
        with pytest.raises(EntraAuthError, match="unknown key"):
            await slow.verify(tenant.token(signer=stranger))
    assert len(fetches) == 3  # one for `slow`'s first key, none for the forged kids


async def _record(fetches: list[str], request: httpx.Request) -> None:
    fetches.append(str(request.url))
