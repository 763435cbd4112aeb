"""The demo data set in Redis: seeding is idempotent and safe for replicas seeding at once."""

from __future__ import annotations

import asyncio
from datetime import date

from redis.asyncio import Redis

from apps.backend.storage.embedded_redis import EmbeddedRedis
from registries.toolstore.demo import DATASET_VERSION, bank, demo_dataset, insurance, seed_demo_data
from registries.toolstore.demo.speech import cents_from_dollars, listing, money, spell, spoken_date
from registries.toolstore.demo.store import META, PREFIX, key


async def _snapshot(redis: Redis) -> dict[bytes, object]:
    state: dict[bytes, object] = {}
    async for name in redis.scan_iter(match=PREFIX + "*"):
        if name == META.encode():
            continue
        kind = (await redis.type(name)).decode()
        if kind == "string":
            state[name] = await redis.get(name)
        elif kind == "hash":
            state[name] = await redis.hgetall(name)
        elif kind == "set":
            state[name] = await redis.smembers(name)
        elif kind == "zset":
            state[name] = await redis.zrange(name, 0, -1, withscores=True)
    return state


async def test_seeding_twice_writes_once_and_keeps_changes(redis: Redis) -> None:
    before = await _snapshot(redis)
    await redis.hset(key("account", "a1"), "balance_cents", 1)

    assert await seed_demo_data(redis) is False

    assert await redis.hget(key("account", "a1"), "balance_cents") == b"1"
    await redis.hset(key("account", "a1"), "balance_cents", 245075)
    assert await _snapshot(redis) == before


async def test_replicas_seeding_at_once_write_the_data_set_exactly_once(redis: Redis) -> None:
    await redis.flushdb()
    results = await asyncio.gather(*(seed_demo_data(redis) for _ in range(5)))

    assert sorted(results) == [False, False, False, False, True]
    expected_keys = await redis.dbsize()
    assert await seed_demo_data(redis) is False
    assert await redis.dbsize() == expected_keys
    assert await redis.hget(META, "version") == DATASET_VERSION.encode()


async def test_overwrite_resets_the_data_and_drops_what_calls_added(redis: Redis) -> None:
    await redis.hset(key("account", "a1"), "balance_cents", 1)
    await redis.set(key("claim", "7009999"), "{}")

    assert await seed_demo_data(redis, overwrite=True) is True

    assert await redis.hget(key("account", "a1"), "balance_cents") == b"245075"
    assert not await redis.exists(key("claim", "7009999"))


async def test_a_stored_data_set_of_another_version_is_replaced(redis: Redis) -> None:
    await redis.hset(META, "version", "an-older-version")
    await redis.hset(key("account", "a1"), "balance_cents", 1)

    assert await seed_demo_data(redis) is True
    assert await redis.hget(key("account", "a1"), "balance_cents") == b"245075"


async def test_every_key_is_under_the_demo_prefix(redis: Redis) -> None:
    names = [n async for n in redis.scan_iter()]
    assert names and all(n.startswith(PREFIX.encode()) for n in names)


async def test_lookups_work_with_a_decoding_client(redis_server: EmbeddedRedis) -> None:
    client = Redis.from_url(redis_server.url, decode_responses=True)
    try:
        await client.flushdb()
        await seed_demo_data(client)
        assert [c.full_name for c in await bank.customers_named(client, "  jordan RIVERA ")] == [
            "Jordan Rivera"
        ]
        assert (await bank.get_account(client, "c1", "savings")).balance_cents == 1280000  # type: ignore[union-attr]
        assert [c.last4 for c in await bank.get_cards(client, "c2")] == ["7702", "3388"]
        assert (await insurance.find_policy(client, "au 482913")).number == "AU-482913"  # type: ignore[union-attr]
    finally:
        await client.aclose()


async def test_policies_are_found_however_the_number_was_heard(redis: Redis) -> None:
    for heard in ["AU-482913", "au482913", "A U 4 8 2 9 1 3", "482913"]:
        policy = await insurance.find_policy(redis, heard)
        assert policy is not None and policy.number == "AU-482913", heard
    assert await insurance.find_policy(redis, "ZZ-000000") is None
    assert await insurance.find_policy(redis, "") is None


def test_the_data_set_is_deterministic_and_consistent() -> None:
    first, second = demo_dataset(), demo_dataset()
    assert first == second
    customer_ids = {c.id for c in first.customers}
    account_ids = {a.id for a in first.accounts}
    assert {a.customer_id for a in first.accounts} <= customer_ids
    assert {t.account_id for t in first.transactions} <= account_ids
    assert {c.account_id for c in first.cards} <= account_ids
    assert {c.policy_number for c in first.claims} <= {p.number for p in first.policies}
    assert any(t.flagged for t in first.transactions)


def test_amounts_dates_and_numbers_are_written_to_be_spoken() -> None:
    assert money(123450) == "1,234 dollars and 50 cents"
    assert money(100) == "1 dollar"
    assert money(-7501) == "75 dollars and 1 cent"
    assert money(5) == "5 cents"
    assert money(0) == "0 dollars"
    assert spoken_date(date(2026, 11, 3), today=date(2026, 12, 1)) == "November 3rd"
    assert spoken_date(date(2025, 3, 11), today=date(2026, 1, 1)) == "March 11th, 2025"
    assert spoken_date(date(2026, 5, 22), today=date(2026, 1, 1)) == "May 22nd"
    assert spell("AU-482913") == "A U 4 8 2 9 1 3"
    assert listing(["a"]) == "a" and listing(["a", "b"]) == "a and b"
    assert listing(["a", "b", "c"]) == "a, b, and c"
    assert cents_from_dollars("1,234.5") == 123450 and cents_from_dollars(0.1) == 10
