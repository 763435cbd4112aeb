"""Callback / WebSocket bearer tokens: RS256, verifiable with the JWKS the simulator serves over HTTP."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import jwt
import pytest

from apps import loopback_acs as defaults
from apps.acs_simulator.server import AcsSimulator
from apps.acs_simulator.tokens import TokenIssuer


@pytest.fixture
async def sim() -> AsyncIterator[AcsSimulator]:
    async with AcsSimulator(port=0, issuer="https://issuer.test", resource_id="resource-123") as simulator:
        yield simulator


async def fetch_keys(sim: AcsSimulator) -> tuple[dict, jwt.PyJWKSet]:
    async with httpx.AsyncClient() as http:
        config = (await http.get(sim.openid_configuration_url)).json()
        jwks = (await http.get(config["jwks_uri"])).json()
    return config, jwt.PyJWKSet.from_dict(jwks)


async def test_minted_tokens_verify_against_the_served_jwks(sim):
    config, keys = await fetch_keys(sim)
    assert config["issuer"] == "https://issuer.test"
    assert config["jwks_uri"] == sim.jwks_url
    assert sim.jwks_url.endswith(defaults.JWKS_PATH)

    token = sim.tokens.mint()
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256"
    claims = jwt.decode(
        token,
        keys[header["kid"]].key,
        algorithms=["RS256"],
        audience="resource-123",
        issuer="https://issuer.test",
    )
    assert claims["exp"] - claims["iat"] == 300
    assert claims["nbf"] == claims["iat"]
    assert abs(claims["iat"] - time.time()) < 5


async def test_each_token_is_fresh(sim):
    first, second = sim.tokens.mint(), sim.tokens.mint()
    assert first != second
    assert (
        jwt.decode(first, options={"verify_signature": False})["jti"]
        != jwt.decode(second, options={"verify_signature": False})["jti"]
    )


async def test_a_token_from_another_key_does_not_verify(sim):
    _, keys = await fetch_keys(sim)
    stranger = TokenIssuer(issuer="https://issuer.test", audience="resource-123")
    token = stranger.mint()
    with pytest.raises(KeyError):
        keys[jwt.get_unverified_header(token)["kid"]]
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, keys.keys[0].key, algorithms=["RS256"], audience="resource-123")


def test_expired_tokens_are_rejected_by_pyjwt():
    issuer = TokenIssuer()
    token = issuer.mint(now=time.time() - 301)
    key = jwt.PyJWKSet.from_dict(issuer.jwks()).keys[0].key
    with pytest.raises(jwt.ExpiredSignatureError):
        jwt.decode(token, key, algorithms=["RS256"], audience=defaults.SIMULATOR_RESOURCE_ID)


def test_defaults_match_the_backend_contract():
    issuer = TokenIssuer()
    claims = jwt.decode(issuer.mint(), options={"verify_signature": False})
    assert claims["iss"] == defaults.SIMULATOR_ISSUER
    assert claims["aud"] == defaults.SIMULATOR_RESOURCE_ID
    (jwk,) = issuer.jwks()["keys"]
    assert (jwk["kty"], jwk["use"], jwk["alg"], jwk["kid"]) == ("RSA", "sig", "RS256", issuer.kid)
