"""The models' preload (started before the app is imported) loads the same process-wide objects the lifespan
then asks for, so start-up waits for those loads instead of repeating them."""

from __future__ import annotations

import pytest

from apps.backend.preload import start_preload
from apps.backend.settings import Settings
from voice.audio.turn_batcher import shared_turn_batcher
from voice.audio.turn_model import model_available
from voice.stt.final_pass import PoolSize, shared_final_pass
from voice.stt.whisper_model import find_model_dir


@pytest.mark.slow
@pytest.mark.skipif(find_model_dir() is None or not model_available(), reason="model wheels not installed")
async def test_the_lifespan_finds_the_models_the_preload_started(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCAL_STT_FINAL", "whisper")
    monkeypatch.setenv("TURN_END_MODEL", "auto")
    settings = Settings()
    start_preload(settings).join(60)
    size = PoolSize.for_machine(settings.local_stt_whisper_workers, settings.local_stt_whisper_queue)
    final = shared_final_pass(settings.local_stt_final, size)
    assert final is not None
    await final.warm()  # waits for the preload's warm-up (the same future), which has loaded the model
    assert final.loaded
    assert final.start_warming().done()
    turn = shared_turn_batcher()
    assert turn is not None
    assert await turn.wait_loaded()
