"""Keep the cyclic garbage collector off the media path.

A worker holds a large, long-lived object graph (the registry snapshot, models, pydantic schemas). CPython's
full collections walk all of it: ~220 ms on this machine with 100 agents loaded, during which no call's
frames are handled (measured by `bench/refresh.py`: frame-lag p99 203 ms around a refresh). Freezing what
exists after start-up (and after each registry swap) moves it out of the collector's reach; objects created
per call are still collected normally, and frozen objects are still freed by reference counting.

What calls allocate is then kept from reaching the oldest generation (`YOUNG_THRESHOLD`): a full collection
still walks every call's live objects, 40-80 ms with 280 calls up, longer than the 60 ms of audio the
playout keeps ahead of the caller, so each one is a gap every caller hears.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 20_000
"""Net new container objects between young collections (CPython's default: 700). Objects that live for a
turn (its tasks, futures, records) outlive 700 allocations and were promoted, two collections later, to the
oldest generation, whose growth set off full collections: one every 5-10 s at 280 calls, each 40-80 ms and
finding nothing to free (`bench.capacity` with BENCH_STALL_LOG: 77 gaps heard in 25 s). A bigger young
generation lets them die young. Not bigger than this: young garbage waits for its collection, and at 50 000
the worker's RSS grew 68 MB over 50 browser sessions (`tests/e2e/test_session_leaks.py`). The older
generations keep CPython's thresholds, so cyclic garbage that did reach them is still collected."""
MIDDLE_THRESHOLD = 10
OLD_THRESHOLD = 10


def pause_collection_for_start_up() -> None:
    """No cyclic collections while the service imports and starts (~10% of the imports' CPU): what start-up
    allocates is almost all long-lived, so those collections would only walk what is about to be frozen.
    `freeze_long_lived_objects` (at the end of start-up) collects once and turns the collector back on."""
    gc.disable()


def freeze_long_lived_objects() -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD)
    gc.enable()
