"""The demo data set in Redis: key schema, idempotent seeding and small shared helpers.

Every key starts with ``sb:demo:``. Money is integer cents; JSON values are the pydantic models of
``dataset.py``. Works with clients created with or without ``decode_responses``.

==================================  ======  ===============================================================
key (after ``sb:demo:``)            type    value
==================================  ======  ===============================================================
meta                                hash    version, seeded_at: the seed marker (WATCHed while seeding)
customer:{cid}                      string  Customer JSON
customer:{cid}:accounts             hash    account type -> account id
customer:{cid}:cards                set     card ids
customer:{cid}:flagged              set     ids of suspicious transactions waiting for the customer's review
customers:by_name:{name}            set     customer ids; name casefolded, letters and single spaces only
customers:by_phone:{e164}           string  customer id
account:{aid}                       hash    customer_id, type, last4, balance_cents (moved by transfers)
account:{aid}:txns                  zset    transaction ids scored by posted_at (epoch seconds)
txn:{tid}                           string  Transaction JSON
txn:{tid}:dispute                   string  Dispute JSON (SET NX: at most one dispute per transaction)
card:{kid}                          hash    customer_id, account_id, last4, network, status, lock_reason
card:{kid}:replacement              string  ReplacementOrder JSON (SET NX: one open order per card)
policy:{number}                     string  Policy JSON (number like AU-482913)
policies:by_key:{key}               string  policy number, by compact form (AU482913) and by digits (482913)
policy:{number}:claims              zset    claim numbers scored by filing date
claim:{number}                      string  Claim JSON (number: 7 digits)
claims:next_number                  string  INCR counter for new claim numbers
idem:{call_id}:{op}:{digest}        string  result of a write this call already made (24 h TTL): JSON, or
                                            "from:to" balances for transfers
==================================  ======  ===============================================================

Seeding is one MULTI/EXEC transaction guarded by WATCH on ``meta``: replicas seeding at the same time
either write the whole data set or see that another replica just did, never a half-written mix.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError
from redis.typing import EncodableT, FieldT

from registries.toolstore.demo.dataset import (
    DATASET_VERSION,
    FIRST_NEW_CLAIM_NUMBER,
    DemoDataset,
    demo_dataset,
)

log = logging.getLogger(__name__)

PREFIX = "sb:demo:"
META = PREFIX + "meta"
IDEMPOTENCY_TTL_S = 24 * 3600


def key(*parts: str) -> str:
    return PREFIX + ":".join(parts)


def text(value: Any) -> str | None:
    """A Redis reply as str, whether or not the client decodes responses."""
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


def text_map(mapping: dict[Any, Any]) -> dict[str, str]:
    return {text(k) or "": text(v) or "" for k, v in mapping.items()}


def normalize_name(name: str) -> str:
    """ "  Jordan  RIVERA. " -> "jordan rivera" (what the name index is keyed by)."""
    return " ".join(re.sub(r"[^a-z ]", " ", name.casefold().replace("'", "")).split())


def compact_id(value: str) -> str:
    """ "au-482 913" -> "AU482913"."""
    return re.sub(r"[^A-Z0-9]", "", value.upper())


def digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:16]


def idempotency_key(call_id: str, op: str, *args: object) -> str:
    return key("idem", call_id, op, digest(*args))


async def seed_demo_data(
    redis: Redis, *, overwrite: bool = False, dataset: DemoDataset | None = None
) -> bool:
    """Write the demo data set unless this version is already there. Returns True if this call wrote it.

    ``overwrite=True`` deletes every ``sb:demo:*`` key first (it resets balances, locks and claims).
    A stored data set of another version is replaced as if ``overwrite`` were given.
    """
    data = dataset or demo_dataset()
    async with redis.pipeline(transaction=True) as pipe:
        while True:
            try:
                await pipe.watch(META)
                current = text(await pipe.hget(META, "version"))
                if current == DATASET_VERSION and not overwrite:
                    return False
                stale = [k async for k in redis.scan_iter(match=PREFIX + "*", count=500)]
                # redis-py leaves Pipeline.multi() unannotated.
                pipe.multi()  # type: ignore[no-untyped-call]
                if stale:
                    pipe.delete(*stale)
                _write_dataset(pipe, data)
                pipe.hset(
                    META, mapping={"version": DATASET_VERSION, "seeded_at": datetime.now(UTC).isoformat()}
                )
                await pipe.execute()
                log.info("demo data seeded", extra={"version": DATASET_VERSION, "replaced": current})
                return True
            except WatchError:
                overwrite = False  # another replica seeded meanwhile: take what it wrote
                continue


def _write_dataset(pipe: Pipeline, data: DemoDataset) -> None:
    for customer in data.customers:
        pipe.set(key("customer", customer.id), customer.model_dump_json())
        pipe.sadd(key("customers", "by_name", normalize_name(customer.full_name)), customer.id)
        pipe.set(key("customers", "by_phone", customer.phone), customer.id)
    for account in data.accounts:
        pipe.hset(
            key("account", account.id),
            mapping={
                "customer_id": account.customer_id,
                "type": account.type,
                "last4": account.last4,
                "balance_cents": account.balance_cents,
            },
        )
        pipe.hset(key("customer", account.customer_id, "accounts"), account.type, account.id)
    for card in data.cards:
        pipe.hset(key("card", card.id), mapping=card_fields(card.model_dump()))
        pipe.sadd(key("customer", card.customer_id, "cards"), card.id)
    owners = {a.id: a.customer_id for a in data.accounts}
    for txn in data.transactions:
        pipe.set(key("txn", txn.id), txn.model_dump_json())
        pipe.zadd(key("account", txn.account_id, "txns"), {txn.id: txn.posted_at.timestamp()})
        if txn.flagged:
            pipe.sadd(key("customer", owners[txn.account_id], "flagged"), txn.id)
    for policy in data.policies:
        pipe.set(key("policy", policy.number), policy.model_dump_json())
        pipe.set(key("policies", "by_key", compact_id(policy.number)), policy.number)
        pipe.set(key("policies", "by_key", re.sub(r"\D", "", policy.number)), policy.number)
    for claim in data.claims:
        pipe.set(key("claim", claim.number), claim.model_dump_json())
        score = datetime.combine(claim.filed_on, datetime.min.time()).timestamp()
        pipe.zadd(key("policy", claim.policy_number, "claims"), {claim.number: score})
    pipe.set(key("claims", "next_number"), FIRST_NEW_CLAIM_NUMBER - 1)


def card_fields(card: dict[str, Any]) -> dict[FieldT, EncodableT]:
    """A card's fields as stored in its Redis hash (for HSET): no id, None as "", everything else as str."""
    return {k: "" if v is None else str(v) for k, v in card.items() if k != "id"}


async def remembered(redis: Redis, idem_key: str) -> dict[str, Any] | None:
    """The result of a write this call already made with the same arguments, if any."""
    raw = text(await redis.get(idem_key))
    return json.loads(raw) if raw else None
