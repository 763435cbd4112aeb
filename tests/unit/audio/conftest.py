from __future__ import annotations

import pytest

from tests.unit.audio.signals import synthesize_speech


@pytest.fixture(scope="session")
def speech_16k() -> bytes:
    """About 3.4 s of real synthesized speech (two sentences) at 16 kHz."""
    return synthesize_speech(sample_rate=16000)
