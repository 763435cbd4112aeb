"""AcsJwtVerifier against a real loopback OpenID configuration + JWKS (the ACS simulator's), keys rotating."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import jwt
import pytest

from apps import loopback_acs as defaults
from apps.acs_simulator.server import AcsSimulator
from apps.acs_simulator.tokens import TokenIssuer
from apps.backend.acs.jwt_auth import AcsAuthError, AcsJwtVerifier
from apps.backend.acs.signing_keys import SigningKeyError, SigningKeys

ISSUER = "https://issuer.test"
AUDIENCE = "resource-123"


@pytest.fixture
async def sim() -> AsyncIterator[AcsSimulator]:
    async with AcsSimulator(port=0, issuer=ISSUER, resource_id=AUDIENCE) as simulator:
        yield simulator


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(trust_env=False) as client:
        yield client


def fetches(sim: AcsSimulator, path: str = defaults.JWKS_PATH) -> int:
    return sum(1 for r in sim.requests if r.path == path)


def rotate(sim: AcsSimulator) -> TokenIssuer:
    """A new signing key, as a new simulator run (or an ACS key rotation) publishes it."""
    sim.tokens = TokenIssuer(issuer=ISSUER, audience=AUDIENCE)
    return sim.tokens


async def test_issuer_and_keys_are_discovered_from_the_openid_configuration(
    sim: AcsSimulator, http: httpx.AsyncClient
) -> None:
    verifier = AcsJwtVerifier(openid_config_url=sim.openid_configuration_url, audience=AUDIENCE, http=http)
    claims = await verifier.verify_authorization_header(sim.tokens.bearer())
    assert claims["iss"] == ISSUER and claims["aud"] == AUDIENCE
    await verifier.verify(sim.tokens.mint())  # cached: no new fetch for a known key
    assert fetches(sim, defaults.OPENID_CONFIG_PATH) == 1 and fetches(sim) == 1


async def test_the_discovered_issuer_is_enforced(sim: AcsSimulator, http: httpx.AsyncClient) -> None:
    verifier = AcsJwtVerifier(openid_config_url=sim.openid_configuration_url, audience=AUDIENCE, http=http)
    impostor = sim.tokens.mint(extra_claims={"iss": "https://someone-else.test"})
    with pytest.raises(AcsAuthError, match="Invalid issuer"):
        await verifier.verify(impostor)


async def test_explicit_issuer_overrides_the_configuration(
    sim: AcsSimulator, http: httpx.AsyncClient
) -> None:
    verifier = AcsJwtVerifier(
        openid_config_url=sim.openid_configuration_url,
        issuer="https://pinned.test",
        audience=AUDIENCE,
        http=http,
    )
    with pytest.raises(AcsAuthError, match="Invalid issuer"):
        await verifier.verify(sim.tokens.mint())
    assert (await verifier.verify(sim.tokens.mint(extra_claims={"iss": "https://pinned.test"})))[
        "aud"
    ] == AUDIENCE


async def test_unsigned_and_foreign_tokens_are_refused(sim: AcsSimulator, http: httpx.AsyncClient) -> None:
    verifier = AcsJwtVerifier(openid_config_url=sim.openid_configuration_url, audience=AUDIENCE, http=http)
    claims = jwt.decode(sim.tokens.mint(), options={"verify_signature": False})
    unsigned = jwt.encode(claims, key="", algorithm="none", headers={"kid": sim.tokens.kid})
    for token in (unsigned, TokenIssuer(issuer=ISSUER, audience=AUDIENCE).mint()):
        with pytest.raises(AcsAuthError):
            await verifier.verify(token)
    with pytest.raises(AcsAuthError, match="Audience doesn't match"):
        await verifier.verify(sim.tokens.mint(extra_claims={"aud": "another-resource"}))


async def test_a_rotated_key_is_accepted_at_once(sim: AcsSimulator, http: httpx.AsyncClient) -> None:
    verifier = AcsJwtVerifier(openid_config_url=sim.openid_configuration_url, audience=AUDIENCE, http=http)
    await verifier.verify(sim.tokens.mint())
    new = rotate(sim)
    # Within the old 10 s refresh floor and the hour-long cache: the new kid must still be fetched now.
    claims = await verifier.verify(new.mint())
    assert claims["aud"] == AUDIENCE
    assert fetches(sim) == 2


async def test_concurrent_tokens_of_a_new_key_share_one_fetch(
    sim: AcsSimulator, http: httpx.AsyncClient
) -> None:
    verifier = AcsJwtVerifier(openid_config_url=sim.openid_configuration_url, audience=AUDIENCE, http=http)
    await verifier.verify(sim.tokens.mint())
    new = rotate(sim)
    results = await asyncio.gather(*(verifier.verify(new.mint()) for _ in range(20)))
    assert len(results) == 20
    assert fetches(sim) == 2


async def test_tokens_arriving_during_a_fetch_use_it(sim: AcsSimulator, http: httpx.AsyncClient) -> None:
    """The first token starts a fetch straight away; the others, arriving while it runs, wait for it."""
    verifier = AcsJwtVerifier(openid_config_url=sim.openid_configuration_url, audience=AUDIENCE, http=http)
    await asyncio.gather(*(verifier.verify(sim.tokens.mint()) for _ in range(5)))
    assert fetches(sim) == 1


async def test_a_flood_of_unknown_kids_is_rate_limited(sim: AcsSimulator, http: httpx.AsyncClient) -> None:
    verifier = AcsJwtVerifier(openid_config_url=sim.openid_configuration_url, audience=AUDIENCE, http=http)
    await verifier.verify(sim.tokens.mint())
    assert fetches(sim) == 1
    forgers = [TokenIssuer(issuer=ISSUER, audience=AUDIENCE) for _ in range(3)]
    for wave in range(2):
        outcomes = await asyncio.gather(
            *(verifier.verify(forgers[i % 3].mint()) for i in range(50)), return_exceptions=True
        )
        assert all(isinstance(o, AcsAuthError) for o in outcomes)
        # 50 forged tokens at once: one shared refetch per wave, whatever the number of distinct kids.
        assert fetches(sim) == 2 + wave
    assert verifier.refresh_attempts == 3
    assert fetches(sim, defaults.OPENID_CONFIG_PATH) == 1  # discovery is not repeated per refetch


async def test_a_flood_long_after_the_last_fetch_shares_one_fetch(
    sim: AcsSimulator, http: httpx.AsyncClient
) -> None:
    """When the last fetch is old enough for the next to go at once, the first unknown kid starts it without
    waiting, and every request that asks while it is on the wire shares it (was: a second fetch for them)."""
    now = [0.0]
    keys = SigningKeys(sim.jwks_url, http, clock=lambda: now[0])
    await keys.key(jwt.get_unverified_header(sim.tokens.mint())["kid"])
    assert fetches(sim) == 1
    now[0] = 10.0  # long after: no wait for the next fetch's turn
    outcomes = await asyncio.gather(*(keys.key(f"forged-{i}") for i in range(20)), return_exceptions=True)
    assert all(isinstance(o, SigningKeyError) for o in outcomes)
    assert fetches(sim) == 2
    assert keys.refresh_attempts == 2


async def test_keys_unavailable_fail_closed(http: httpx.AsyncClient) -> None:
    async with AcsSimulator(port=0) as sim:
        url, token = sim.openid_configuration_url, sim.tokens.mint()
    verifier = AcsJwtVerifier(openid_config_url=url, audience=defaults.SIMULATOR_RESOURCE_ID, http=http)
    with pytest.raises(AcsAuthError, match="unavailable"):
        await verifier.verify(token)


def test_explicit_keys_without_a_configuration_need_an_issuer() -> None:
    with pytest.raises(ValueError):
        AcsJwtVerifier(jwks_url="http://127.0.0.1:1/keys", audience=AUDIENCE, http=httpx.AsyncClient())
