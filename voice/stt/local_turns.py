"""What one call's embedded recognition passes between its worker task (loop side) and its decode jobs
(decode-thread side): the turn being decoded, a finished turn's result, and the requests queued behind the
audio (`local_session.py`)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Final

import pocketsphinx

from voice.expectation import Expectation
from voice.stt.base import Recognition
from voice.stt.local_decoding import DecodeResult


@dataclass(frozen=True, slots=True)
class Finished:
    phrase: DecodeResult
    audio: bytes | None = None  # the turn's audio, when a later pass may need it
    fallback: bool = False  # the general model should try the audio too
    final_pass: bool = False  # Whisper writes the final text

    @property
    def fallback_audio(self) -> bytes | None:
        return self.audio if self.fallback else None


@dataclass
class TurnAudio:
    decoder: pocketsphinx.Decoder
    audio: bytearray = field(default_factory=bytearray)  # 16 kHz with noise floor, for the fallback decode
    truncated: bool = False  # longer than the session keeps: no fallback decode
    partial: str = ""


class EndTurn:
    __slots__ = ("future",)

    def __init__(self, future: asyncio.Future[Recognition]) -> None:
        self.future = future


class Discard:
    pass


@dataclass(frozen=True, slots=True)
class Expect:
    """What the agent asked for: holds for the turns that end after it (`ExpectingSession.expect`)."""

    expectation: Expectation | None


class Continue:
    pass


DISCARD: Final = Discard()
CONTINUE: Final = Continue()
