"""Keep the cyclic garbage collector off the media path.

A worker holds a large, long-lived object graph (the registry snapshot, models, pydantic schemas). CPython's
full collections walk all of it: ~220 ms on this machine with 100 agents loaded, during which no call's
frames are handled (measured by `bench/refresh.py`: frame-lag p99 203 ms around a refresh). Freezing what
exists after start-up (and after each registry swap) moves it out of the collector's reach; objects created
per call are still collected normally, and frozen objects are still freed by reference counting.
"""

from __future__ import annotations

import gc


def pause_collection_for_start_up() -> None:
    """No cyclic collections while the service imports and starts (~10% of the imports' CPU): what start-up
    allocates is almost all long-lived, so those collections would only walk what is about to be frozen.
    `freeze_long_lived_objects` (at the end of start-up) collects once and turns the collector back on."""
    gc.disable()


def freeze_long_lived_objects() -> None:
    gc.collect()
    gc.freeze()
    gc.enable()
