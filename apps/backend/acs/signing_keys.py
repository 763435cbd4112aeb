"""The signing keys behind the bearer tokens we accept (ACS callbacks and media upgrades, Event Grid's Entra
tokens): a JWKS fetched lazily, asynchronously and cached, and the checks every RS256 bearer shares.

A request waits for a fetch only when the cache is empty or its token names a key we do not know (rotation,
a new simulator run). That refetch is shared by every request waiting at the time and rate-limited (one per
`min_refresh_interval`; a request waits at most `MAX_WAIT_S` for its turn, else it is refused), so a flood of
forged `kid`s cannot make us hammer the key endpoint. A stale cache is refreshed by whoever finds it stale,
without making anyone wait, and a failed fetch keeps the keys we had: a key endpoint blip locks nobody out.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

import httpx
import jwt

log = logging.getLogger(__name__)

MAX_WAIT_S = 1.0
"""Longest a request with an unknown key waits for the rate limit to allow a refetch."""


class SigningKeyError(Exception):
    """No key to check this token with: an unknown `kid`, or the keys could not be fetched."""


KeysUrl = Callable[[], Awaitable[str]]
"""Where the JWKS is now (an OpenID configuration may move it); raises SigningKeyError when unknowable."""


def bearer_token(header: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header. Raises ValueError naming what is wrong."""
    if not header:
        raise ValueError("missing Authorization header")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ValueError("Authorization is not a Bearer token")
    return token.strip()


def rs256_key_id(token: str) -> str:
    """The `kid` of an RS256 token (before its signature is checked). Raises ValueError naming what is wrong."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise ValueError(f"malformed token: {exc}") from exc
    if header.get("alg") != "RS256":
        raise ValueError("token is not RS256")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise ValueError("token has no kid")
    return kid


class SigningKeys:
    def __init__(
        self,
        keys_url: str | KeysUrl,
        http: httpx.AsyncClient,
        *,
        cache_seconds: float = 3600.0,
        min_refresh_interval: float = 1.0,
        fetch_timeout_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._keys_url = keys_url
        self._http = http
        self._cache_seconds = cache_seconds
        self._min_refresh_interval = min_refresh_interval
        self._timeout = httpx.Timeout(fetch_timeout_seconds)
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._last_attempt: float | None = None
        self._attempts = 0  # fetches so far: how a waiting request knows someone fetched for it
        self._fetching = False  # a fetch is on the wire: a request that asks now shares it
        self._lock = asyncio.Lock()

    @property
    def refresh_attempts(self) -> int:
        return self._attempts

    async def key(self, kid: str) -> jwt.PyJWK:
        known = self._keys.get(kid)
        if known is not None:
            if self._stale() and not self._lock.locked() and self._wait_for_turn() <= 0:
                async with self._lock:
                    await self._refresh()
            return self._keys.get(kid, known)
        # A fetch already on the wire counts as ours: it began a moment ago, and joining it is what keeps a flood
        # to one fetch when the previous one is old enough to go at once.
        seen = self._attempts - (1 if self._fetching else 0)
        async with self._lock:
            # Skip if the key arrived meanwhile, or a fetch that began after we asked has come and gone.
            if kid not in self._keys and self._attempts == seen:
                wait = self._wait_for_turn()
                if wait <= MAX_WAIT_S:
                    if wait > 0:
                        await asyncio.sleep(wait)
                    await self._refresh()
        key = self._keys.get(kid)
        if key is None:
            raise SigningKeyError(
                "token signed by an unknown key" if self._keys else "signing keys are unavailable"
            )
        return key

    def _stale(self) -> bool:
        return self._fetched_at is None or self._clock() - self._fetched_at > self._cache_seconds

    def _wait_for_turn(self) -> float:
        if self._last_attempt is None:
            return 0.0
        return self._last_attempt + self._min_refresh_interval - self._clock()

    async def _refresh(self) -> None:
        self._attempts += 1
        self._last_attempt = self._clock()
        self._fetching = True
        try:
            await self._fetch()
        finally:
            self._fetching = False

    async def _fetch(self) -> None:
        try:
            url = self._keys_url if isinstance(self._keys_url, str) else await self._keys_url()
            response = await self._http.get(url, timeout=self._timeout, follow_redirects=True)
            response.raise_for_status()
            jwk_set = jwt.PyJWKSet.from_dict(response.json())
        except (httpx.HTTPError, ValueError, jwt.PyJWTError, SigningKeyError) as exc:
            log.warning("signing keys refresh failed", extra={"error": f"{exc.__class__.__name__}: {exc}"})
            return
        self._keys = {k.key_id: k for k in jwk_set.keys if k.key_id}
        self._fetched_at = self._clock()
