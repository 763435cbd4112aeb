"""The collector is off while the service starts and back on (with start-up's objects frozen) once it has; then
objects that live for a turn die young instead of growing the oldest generation into full collections."""

from __future__ import annotations

import gc

from apps.backend.gc_tuning import freeze_long_lived_objects, pause_collection_for_start_up


def test_collection_pauses_for_start_up_and_resumes_with_the_freeze() -> None:
    thresholds = gc.get_threshold()
    try:
        pause_collection_for_start_up()
        assert not gc.isenabled()
        freeze_long_lived_objects()
        assert gc.isenabled()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
        gc.enable()


class _TurnObject:
    """Stands for what a turn keeps alive (a task, a future, a record): an object the collector tracks (a
    dict of plain values would be untracked by the collector and prove nothing)."""


def _full_collections() -> int:
    return int(gc.get_stats()[2]["collections"])


def test_turn_lived_objects_never_set_off_a_full_collection() -> None:
    """Many calls' turns, each keeping a few thousand small objects for its length, then dropping them: with
    CPython's default thresholds they are promoted and full collections (a stall of every call's frames)
    follow; after the service's tuning, none does."""
    thresholds = gc.get_threshold()
    try:
        freeze_long_lived_objects()
        before = _full_collections()
        for _turn in range(300):
            turn_objects = [_TurnObject() for _ in range(3000)]
            del turn_objects
        assert _full_collections() == before
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
        gc.enable()
