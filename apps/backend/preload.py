"""The embedded models' loads, started before the service imports its app.

Importing the app is ~1.5 s of Python holding the GIL on one core; loading the models is mostly native code
that releases it (CTranslate2 for Whisper, onnxruntime for the VAD, the end-of-turn model and the sentence
encoder). `start_preload` starts those loads on a background thread first, so they run on the other core
while the imports run. Every model is a process-wide shared object behind its own lock: the lifespan asks for
the same objects and waits for loads already under way instead of starting them again, and it still awaits
every one of them before the service reports ready. A load that fails here is logged and left to the lifespan,
which tries again and reports it as it always did.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from apps.backend.settings import Settings

log = logging.getLogger(__name__)


def start_preload(settings: Settings) -> threading.Thread:
    """Start loading the embedded models in a daemon thread (for a process that is about to serve)."""
    thread = threading.Thread(target=_preload, args=(settings,), name="model-preload", daemon=True)
    thread.start()
    return thread


def _preload(settings: Settings) -> None:
    try:
        # Whisper first: the longest load (~0.8 s), on its own pool thread, so the rest start beside it.
        from voice.stt.final_pass import PoolSize, shared_final_pass

        final = shared_final_pass(
            settings.local_stt_final,
            PoolSize.for_machine(settings.local_stt_whisper_workers, settings.local_stt_whisper_queue),
        )
        if final is not None:
            final.start_warming()
        if settings.turn_end_model == "auto":
            from voice.audio.turn_batcher import shared_turn_batcher

            shared_turn_batcher()  # loads on the batcher's own thread
        from voice.llm.local_brain.embeddings import get_shared_encoder

        get_shared_encoder()
        from voice.audio.vad import get_shared_model

        get_shared_model()
    except Exception:
        log.warning("preloading the embedded models failed; start-up loads them", exc_info=True)
