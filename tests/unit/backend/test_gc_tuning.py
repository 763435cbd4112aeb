"""The collector is off while the service starts and back on (with start-up's objects frozen) once it has."""

from __future__ import annotations

import gc

from apps.backend.gc_tuning import freeze_long_lived_objects, pause_collection_for_start_up


def test_collection_pauses_for_start_up_and_resumes_with_the_freeze() -> None:
    try:
        pause_collection_for_start_up()
        assert not gc.isenabled()
        freeze_long_lived_objects()
        assert gc.isenabled()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.enable()
