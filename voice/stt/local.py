"""Embedded speech-to-text: pocketsphinx 5 with a per-scenario phrase language model, offline.

How a turn is recognised:
- Audio is resampled to 16 kHz and decoded incrementally against the scenario's phrase model (see
  `phrase_model`), so partials flow while the caller speaks and `end_of_turn` only finalises.
- If that result looks poor (empty, or low confidence: mean word posterior x the share of words the phrase
  model predicted from a bigram or trigram), the turn's buffered audio is decoded again with pocketsphinx's
  general en-US model (~130k words), whose result is taken if its confidence is higher: open speech stays
  possible, if weak (on our espeak test set: out-of-domain WER 84% -> 41%, in-domain 10% -> 12%).
- With a final pass (`final_pass`, Whisper tiny.en; `LOCAL_STT_FINAL=whisper`, the default when its model wheel
  is installed), pocketsphinx only streams the partials, and the turn's audio is recognised again by Whisper,
  whose text is final (eval suites, espeak callers: see `final_pass`); pocketsphinx's result stands when
  Whisper is busy, fails, or the turn is longer than 30 s.

The pieces: this module is the provider (`LocalSpeechToText`); `local_session` is one call's recognition
(turns, partials, the caller's cepstral mean); `local_engine` holds what calls share (phrase models and
their decoder pools, the general model, the decode threads); `local_decoding` the pocketsphinx primitives.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from voice.errors import ProviderError
from voice.stt.base import SttConfig
from voice.stt.final_pass import WhisperFinalPass
from voice.stt.local_engine import get_engine
from voice.stt.local_session import PROVIDER, LocalSttSession


class LocalSpeechToText:
    """`SpeechToText` on embedded pocketsphinx (en-US only).

    `open_session` with a phrase set that was never prepared builds its model first (~0.3 s, on a decode
    thread); an empty phrase set still gets a model of numbers, dates and short answers, and anything
    else goes through the general-model fallback.
    """

    name = PROVIDER

    def __init__(self, *, fallback_below: float = 0.4, final_pass: WhisperFinalPass | None = None) -> None:
        """`fallback_below`: confidence under which the general model re-decodes the turn (0 disables).

        On our espeak test set (16 and 24 kHz), correctly recognised in-domain turns scored >= 0.48 and
        out-of-domain ones <= 0.35. A re-decode costs ~0.3 x the turn's duration of CPU.
        `final_pass`: the recogniser whose text is each turn's final one (None: pocketsphinx's own).
        """
        self.fallback_below = fallback_below
        self.final_pass = final_pass

    async def prepare(self, phrases: Sequence[str]) -> None:
        """The phrase model, the general model and the final pass, side by side (their own threads)."""
        engine = get_engine()

        async def phrase_model() -> None:
            slot = await engine.run(engine.phrase_models.slot_for, tuple(phrases))
            await engine.run(slot.warm)

        parts = [phrase_model()]
        if self.fallback_below > 0:
            parts.append(engine.run_general(engine.general.warm))
        if self.final_pass is not None and not self.final_pass.loaded:
            parts.append(self.final_pass.warm())  # once per process: ~0.8 s to load, plus one short decode
        await asyncio.gather(*parts)

    async def open_session(self, config: SttConfig) -> LocalSttSession:
        if not any(lang.lower().split("-")[0] == "en" for lang in config.languages):
            raise ProviderError(
                PROVIDER,
                f"the embedded model recognises en-US only, not {', '.join(config.languages) or '-'}",
            )
        if config.sample_rate <= 0:
            raise ProviderError(PROVIDER, f"invalid sample rate {config.sample_rate}")
        engine = get_engine()
        try:
            slot = await engine.run(engine.phrase_models.slot_for, tuple(config.phrases))
        except Exception as exc:
            raise ProviderError(PROVIDER, f"could not build the phrase model: {exc}") from exc
        return LocalSttSession(
            config, slot, engine, fallback_below=self.fallback_below, final_pass=self.final_pass
        )
