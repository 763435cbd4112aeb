"""The embedded models' loads, started before the service imports its web app.

`switchboard serve` spends about 1.5 s importing the app (FastAPI, Redis, the local brain, ...) on one core
while the machine's other core idles, then loads the models the first call needs (Silero VAD, the end-of-turn
model, Whisper's final pass with one short decode) during the lifespan's start-up. Started here, on a thread,
those loads run beside the imports (onnxruntime's work releases the GIL); the lifespan then finds them done, or
waits for the same load (every one of them is a process-wide, thread-safe singleton that loads once).

Only for a single-process server: with `WORKERS` > 1 the supervisor serves nothing, and each worker process
loads its own models.
"""

from __future__ import annotations

import logging
import threading

from apps.backend.settings import Settings

log = logging.getLogger(__name__)


def _load(settings: Settings) -> None:
    # Imported here: these imports are part of what runs beside the main thread's.
    from voice.audio.turn_batcher import shared_turn_batcher
    from voice.audio.vad import get_shared_model
    from voice.stt.final_pass import PoolSize, shared_final_pass

    try:
        get_shared_model()
        if settings.turn_end_model == "auto":
            shared_turn_batcher()  # its load runs on its own thread from here
        final_pass = shared_final_pass(
            settings.local_stt_final,
            PoolSize.for_machine(settings.local_stt_whisper_workers, settings.local_stt_whisper_queue),
        )
        if final_pass is not None:
            final_pass.start_warming()
    except Exception:  # the lifespan loads them again and reports a real problem there
        log.exception("loading the embedded models early failed; start-up loads them")


def start_early_model_loads(settings: Settings) -> threading.Thread | None:
    """Start loading the embedded models on a daemon thread (None when there is nothing to gain)."""
    if settings.workers > 1:
        return None
    thread = threading.Thread(target=_load, args=(settings,), name="early-model-loads", daemon=True)
    thread.start()
    return thread
