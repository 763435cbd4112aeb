"""Insurance reads and writes over the demo data in Redis (key schema in ``store.py``)."""

from __future__ import annotations

import re
from datetime import date, datetime

from redis.asyncio import Redis

from registries.toolstore.demo.dataset import Claim, IncidentType, Policy
from registries.toolstore.demo.store import (
    IDEMPOTENCY_TTL_S,
    compact_id,
    idempotency_key,
    key,
    remembered,
    text,
)


async def find_policy(redis: Redis, spoken_number: str) -> Policy | None:
    """Find a policy by its number however it was heard: "AU-482913", "a u 482913" or just "482913"."""
    compact = compact_id(spoken_number)
    if not compact:
        return None
    number = text(await redis.get(key("policies", "by_key", compact)))
    if number is None and not compact.isdigit():
        number = text(await redis.get(key("policies", "by_key", re.sub(r"\D", "", compact))))
    raw = await redis.get(key("policy", number)) if number else None
    return Policy.model_validate_json(raw) if raw else None


def claim_number_from(spoken: str) -> str:
    return re.sub(r"\D", "", spoken)


async def get_claim(redis: Redis, spoken_number: str) -> Claim | None:
    number = claim_number_from(spoken_number)
    raw = await redis.get(key("claim", number)) if number else None
    return Claim.model_validate_json(raw) if raw else None


async def policy_claims(redis: Redis, policy_number: str) -> list[Claim]:
    numbers = [text(n) or "" for n in await redis.zrange(key("policy", policy_number, "claims"), 0, -1)]
    claims = [await get_claim(redis, n) for n in numbers]
    return [c for c in claims if c is not None]


async def file_claim(
    redis: Redis,
    *,
    call_id: str,
    policy: Policy,
    incident_type: IncidentType,
    incident_date: date,
    location: str,
    description: str,
    today: date,
) -> tuple[Claim, bool]:
    """Open a claim; the same report twice in one call returns the first claim. Returns (claim, created)."""
    idem = idempotency_key(
        call_id, "file_claim", policy.number, incident_type, incident_date, location, description
    )
    previous = await remembered(redis, idem)
    if previous is not None:
        return Claim.model_validate(previous), False
    number = int(await redis.incr(key("claims", "next_number")))
    claim = Claim(
        number=f"{number:07d}",
        policy_number=policy.number,
        incident_type=incident_type,
        incident_date=incident_date,
        location=location.strip(),
        description=description.strip(),
        filed_on=today,
    )
    # Claim the idempotency key before writing: a concurrent twin that loses only wastes a number.
    if not await redis.set(idem, claim.model_dump_json(), nx=True, ex=IDEMPOTENCY_TTL_S):
        previous = await remembered(redis, idem)
        return (Claim.model_validate(previous) if previous else claim), False
    score = datetime.combine(today, datetime.min.time()).timestamp()
    async with redis.pipeline(transaction=True) as pipe:
        pipe.set(key("claim", claim.number), claim.model_dump_json())
        pipe.zadd(key("policy", policy.number, "claims"), {claim.number: score})
        await pipe.execute()
    return claim, True


async def correct_claim(
    redis: Redis, claim: Claim, *, incident_date: date | None, location: str | None
) -> Claim:
    """Write `claim` again with the day or place the caller corrected; its number and the rest stay."""
    changes: dict[str, object] = {}
    if incident_date is not None:
        changes["incident_date"] = incident_date
    if location is not None and location.strip():
        changes["location"] = location.strip()
    corrected = claim.model_copy(update=changes)
    await redis.set(key("claim", claim.number), corrected.model_dump_json())
    return corrected
