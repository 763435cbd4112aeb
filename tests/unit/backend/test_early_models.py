"""`switchboard serve` starts the embedded models' loads before it imports the web app: the same process-wide
models the lifespan then uses, so nothing loads twice."""

from __future__ import annotations

from apps.backend.early_models import start_early_model_loads
from apps.backend.settings import Settings
from voice.audio import vad
from voice.audio.turn_batcher import shared_turn_batcher
from voice.stt.final_pass import PoolSize, shared_final_pass


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_the_early_loads_leave_the_models_the_lifespan_asks_for_loaded() -> None:
    settings = _settings(local_stt_final="whisper")
    thread = start_early_model_loads(settings)
    assert thread is not None
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert vad._shared_model is not None  # the lifespan's get_shared_model() returns this one
    final_pass = shared_final_pass(
        settings.local_stt_final,
        PoolSize.for_machine(settings.local_stt_whisper_workers, settings.local_stt_whisper_queue),
    )
    assert final_pass is not None  # the test environment installs the model wheels (requirements-models.txt)
    started = final_pass._warming
    assert started is not None  # the early load started its warm-up...
    warming = final_pass.start_warming()
    assert warming is started  # ...and the lifespan's warm-up waits for that one instead of loading again
    warming.result(timeout=60)
    assert final_pass.loaded
    batcher = shared_turn_batcher()
    assert batcher is not None
    if batcher._loading is not None:
        batcher._loading.result(timeout=60)
    assert batcher.ready


def test_a_multi_worker_server_loads_nothing_in_its_supervisor() -> None:
    assert start_early_model_loads(_settings(workers=2)) is None
