"""What the runtime connects to at start-up: the Redis client, the transcript store and the ACS JWT verifier.
Built here so `runtime.py` reads as the start order and nothing else."""

from __future__ import annotations

import logging
from typing import Protocol

import httpx
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.driver_info import DriverInfo
from redis.exceptions import ConnectionError as RedisConnectionError

from apps.backend.acs.jwt_auth import AcsJwtVerifier
from apps.backend.calls.recovery import SweepableTranscripts
from apps.backend.settings import Settings
from apps.backend.storage.redis_pool import WaitingConnectionPool
from apps.backend.storage.sqlite_transcripts import SqliteTranscriptStore

log = logging.getLogger(__name__)


def build_acs_verifier(settings: Settings, http: httpx.AsyncClient) -> AcsJwtVerifier | None:
    """ACS JWT validation: on unless ACS_JWT_VALIDATION=off (loudly insecure)."""
    source = settings.acs_jwt_source
    if source is None:
        log.warning(
            "ACS_JWT_VALIDATION=off: ACS callbacks and media upgrades are NOT authenticated; anyone who can "
            "reach this service can forge call events (INSECURE)"
        )
        return None
    log.info(
        "acs jwt validation on",
        extra={"openid_config_url": source.openid_config_url, "jwks_url": source.jwks_url},
    )
    return AcsJwtVerifier(
        openid_config_url=source.openid_config_url,
        jwks_url=source.jwks_url,
        issuer=source.issuer,
        audience=source.audience,
        http=http,
    )


def connect_redis(url: str, *, socket_timeout_s: float, max_connections: int = 100) -> aioredis.Redis:
    """A client whose every command gives up after `socket_timeout_s` (a hung server is not waited on).

    A timeout is not retried (a hung server will not answer the retry either); a dropped or refused connection
    is, twice and quickly (a restarted server, a failover). Pub/sub listeners are not bound by the timeout.
    At most `max_connections` are open; a command that finds them all busy waits for one (for
    `socket_timeout_s` at most) rather than failing at once (`WaitingConnectionPool`).
    """
    retry = Retry(
        ExponentialWithJitterBackoff(base=0.05, cap=0.5), retries=2, supported_errors=(RedisConnectionError,)
    )
    pool = WaitingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        wait_s=socket_timeout_s,
        socket_timeout=socket_timeout_s,
        socket_connect_timeout=min(socket_timeout_s, 2.0),
        health_check_interval=30,
        retry=retry,
        # Resolved once here: otherwise every new connection looks redis-py's version up in the installed
        # packages' metadata (file reads on the event loop: 140 ms once when a burst of hang-ups grew the pool).
        driver_info=DriverInfo(),
    )
    return aioredis.Redis.from_pool(pool)  # the client owns the pool: aclose() closes its connections


class OwnedTranscriptStore(SweepableTranscripts, Protocol):
    """A transcript store the service opens at start-up and closes on shutdown."""

    async def close(self) -> None: ...


async def open_transcript_store(settings: Settings) -> OwnedTranscriptStore:
    """Cosmos DB (through the durable local spool) when COSMOS_ENDPOINT is set, else the SQLite file."""
    if settings.cosmos_endpoint:
        if settings.cosmos_key is None:
            raise ValueError("COSMOS_ENDPOINT is set but COSMOS_KEY is not")
        # The Cosmos SDK (~0.1-0.5 s to import) only when it is configured.
        from apps.backend.storage.cosmos_transcripts import CosmosTranscriptStore

        cosmos = CosmosTranscriptStore(
            endpoint=settings.cosmos_endpoint,
            key=settings.cosmos_key.get_secret_value(),
            spool_path=settings.transcript_spool_path,
            database=settings.cosmos_database,
            container=settings.cosmos_container,
            connection_verify=settings.cosmos_verify_ssl,
        )
        await cosmos.open()  # never waits for Cosmos: the spool takes writes while it is away
        log.info("transcripts: cosmos db through the local spool", extra={"pending": cosmos.pending()})
        return cosmos
    sqlite = SqliteTranscriptStore(settings.transcripts_db)
    await sqlite.open()
    return sqlite
