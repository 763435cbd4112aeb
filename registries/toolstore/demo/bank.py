"""Banking reads and writes over the demo data in Redis (key schema in ``store.py``).

Functions return models or plain outcomes; deciding what the caller hears is the tools' job.
Writes are idempotent: locking a locked card, re-ordering a replacement or re-disputing a charge
returns what was already done, and a transfer replayed within one call moves money only once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal, cast

from pydantic import BaseModel
from redis.asyncio import Redis

from registries.toolstore.demo.dataset import Account, AccountType, Card, Customer, Transaction
from registries.toolstore.demo.store import (
    IDEMPOTENCY_TTL_S,
    card_fields,
    digest,
    idempotency_key,
    key,
    normalize_name,
    text,
    text_map,
)


class Dispute(BaseModel):
    id: str
    customer_id: str
    transaction_id: str
    reason: str
    opened_on: date
    provisional_credit: bool


class ReplacementOrder(BaseModel):
    card_id: str
    expedited: bool
    ordered_on: date
    arrives_by: date


TransferStatus = Literal["ok", "duplicate", "insufficient", "missing"]


@dataclass(frozen=True)
class TransferOutcome:
    status: TransferStatus
    from_balance_cents: int = 0
    to_balance_cents: int = 0


_TRANSFER = """
local done = redis.call('GET', KEYS[1])
if done then return {'duplicate', done} end
local amount = tonumber(ARGV[1])
local balance = tonumber(redis.call('HGET', KEYS[2], 'balance_cents'))
if balance == nil or redis.call('EXISTS', KEYS[3]) == 0 then return {'missing', ''} end
if balance < amount then return {'insufficient', tostring(balance) .. ':0'} end
local from_balance = redis.call('HINCRBY', KEYS[2], 'balance_cents', -amount)
local to_balance = redis.call('HINCRBY', KEYS[3], 'balance_cents', amount)
redis.call('SET', KEYS[6], ARGV[4])
redis.call('SET', KEYS[7], ARGV[5])
redis.call('ZADD', KEYS[4], ARGV[6], ARGV[2])
redis.call('ZADD', KEYS[5], ARGV[6], ARGV[3])
local result = from_balance .. ':' .. to_balance
redis.call('SET', KEYS[1], result, 'EX', tonumber(ARGV[7]))
return {'ok', result}
"""


async def get_customer(redis: Redis, customer_id: str) -> Customer | None:
    raw = await redis.get(key("customer", customer_id))
    return Customer.model_validate_json(raw) if raw else None


async def customers_named(redis: Redis, full_name: str) -> list[Customer]:
    ids = sorted(
        text(i) or "" for i in await redis.smembers(key("customers", "by_name", normalize_name(full_name)))
    )
    found = [await get_customer(redis, cid) for cid in ids]
    return [c for c in found if c is not None]


async def customer_id_for_phone(redis: Redis, phone: str) -> str | None:
    return text(await redis.get(key("customers", "by_phone", phone)))


async def get_accounts(redis: Redis, customer_id: str) -> dict[str, Account]:
    ids = text_map(await redis.hgetall(key("customer", customer_id, "accounts")))
    accounts: dict[str, Account] = {}
    for account_type, account_id in sorted(ids.items()):
        fields = text_map(await redis.hgetall(key("account", account_id)))
        if fields:
            accounts[account_type] = Account.model_validate({"id": account_id, **fields})
    return accounts


async def get_account(redis: Redis, customer_id: str, account_type: AccountType) -> Account | None:
    return (await get_accounts(redis, customer_id)).get(account_type)


async def get_cards(redis: Redis, customer_id: str) -> list[Card]:
    ids = sorted(text(i) or "" for i in await redis.smembers(key("customer", customer_id, "cards")))
    cards = []
    for card_id in ids:
        fields = text_map(await redis.hgetall(key("card", card_id)))
        if fields:
            lock_reason = fields.get("lock_reason") or None  # stored as "" when there is none
            cards.append(Card.model_validate({"id": card_id, **fields, "lock_reason": lock_reason}))
    return cards


async def get_transaction(redis: Redis, transaction_id: str) -> Transaction | None:
    raw = await redis.get(key("txn", transaction_id))
    return Transaction.model_validate_json(raw) if raw else None


async def recent_transactions(redis: Redis, account_id: str, limit: int) -> list[Transaction]:
    ids = [text(i) or "" for i in await redis.zrevrange(key("account", account_id, "txns"), 0, limit - 1)]
    raws = await redis.mget([key("txn", i) for i in ids]) if ids else []
    return [Transaction.model_validate_json(r) for r in raws if r]


async def customer_transactions(redis: Redis, customer_id: str, limit: int = 50) -> list[Transaction]:
    """Newest first, across all of the customer's accounts."""
    found: list[Transaction] = []
    for account in (await get_accounts(redis, customer_id)).values():
        found += await recent_transactions(redis, account.id, limit)
    return sorted(found, key=lambda t: t.posted_at, reverse=True)[:limit]


async def flagged_transactions(redis: Redis, customer_id: str) -> list[Transaction]:
    ids = sorted(text(i) or "" for i in await redis.smembers(key("customer", customer_id, "flagged")))
    found = [await get_transaction(redis, tid) for tid in ids]
    return sorted((t for t in found if t is not None), key=lambda t: t.posted_at)


async def resolve_flag(redis: Redis, customer_id: str, txn: Transaction, recognized: bool) -> Transaction:
    updated = txn.model_copy(update={"flagged": False, "status": "confirmed" if recognized else "fraud"})
    async with redis.pipeline(transaction=True) as pipe:
        pipe.set(key("txn", txn.id), updated.model_dump_json())
        pipe.srem(key("customer", customer_id, "flagged"), txn.id)
        await pipe.execute()
    return updated


async def lock_card(redis: Redis, card: Card, reason: str) -> bool:
    """Lock the card; False if it was already locked (the first reason is kept)."""
    if text(await redis.hget(key("card", card.id), "status")) == "locked":
        return False
    await redis.hset(key("card", card.id), mapping=card_fields({"status": "locked", "lock_reason": reason}))
    return True


async def order_replacement(
    redis: Redis, card: Card, *, expedited: bool, today: date
) -> tuple[ReplacementOrder, bool]:
    """One open replacement order per card; returns (order, created)."""
    days = 2 if expedited else 7
    order = ReplacementOrder(
        card_id=card.id, expedited=expedited, ordered_on=today, arrives_by=today + timedelta(days)
    )
    order_key = key("card", card.id, "replacement")
    if await redis.set(order_key, order.model_dump_json(), nx=True):
        return order, True
    raw = await redis.get(order_key)
    return (ReplacementOrder.model_validate_json(raw) if raw else order), False


async def open_dispute(
    redis: Redis, customer_id: str, txn: Transaction, reason: str, *, today: date
) -> tuple[Dispute, bool]:
    """At most one dispute per transaction; returns (dispute, created)."""
    dispute = Dispute(
        id="D" + digest("dispute", txn.id)[:6].upper(),
        customer_id=customer_id,
        transaction_id=txn.id,
        reason=reason,
        opened_on=today,
        provisional_credit=abs(txn.amount_cents) <= 50000,
    )
    dispute_key = key("txn", txn.id, "dispute")
    if await redis.set(dispute_key, dispute.model_dump_json(), nx=True):
        disputed = txn.model_copy(update={"status": "disputed"})
        await redis.set(key("txn", txn.id), disputed.model_dump_json())
        return dispute, True
    raw = await redis.get(dispute_key)
    return (Dispute.model_validate_json(raw) if raw else dispute), False


async def transfer(
    redis: Redis, *, call_id: str, source: Account, target: Account, amount_cents: int, now: datetime
) -> TransferOutcome:
    """Move money between two accounts atomically; a replay in the same call with the same args is a no-op."""
    idem = idempotency_key(call_id, "transfer", source.id, target.id, amount_cents)
    ref = digest(idem)[:10]
    debit = Transaction(
        id=f"x{ref}d", account_id=source.id, posted_at=now, merchant=f"Transfer to {target.type}",
        amount_cents=-amount_cents,
    )  # fmt: skip
    credit = Transaction(
        id=f"x{ref}c", account_id=target.id, posted_at=now, merchant=f"Transfer from {source.type}",
        amount_cents=amount_cents,
    )  # fmt: skip
    keys = [
        idem,
        key("account", source.id),
        key("account", target.id),
        key("account", source.id, "txns"),
        key("account", target.id, "txns"),
        key("txn", debit.id),
        key("txn", credit.id),
    ]
    args: list[int | float | str] = [
        amount_cents,
        debit.id,
        credit.id,
        debit.model_dump_json(),
        credit.model_dump_json(),
    ]
    args += [now.timestamp(), IDEMPOTENCY_TTL_S]
    status, balances = await redis.eval(_TRANSFER, len(keys), *keys, *args)
    status = text(status) or "missing"
    if status == "missing":
        return TransferOutcome("missing")
    from_balance, _, to_balance = (text(balances) or "0:0").partition(":")
    # An untyped Redis reply: past the check above, _TRANSFER only sends ok, duplicate or insufficient.
    return TransferOutcome(cast(TransferStatus, status), int(from_balance), int(to_balance))
