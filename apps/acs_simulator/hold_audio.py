"""What a held caller hears: ACS fetches the hold request's file play source and plays it to them in a loop.

The simulator fetches only loopback URLs (the backend under test serves its own hold audio there); any other
host is noted and not fetched, so tests never reach the internet. A file that cannot be fetched or is not a
16-bit mono WAV is a warning on the call (real ACS would fail the hold's play) and the caller hears silence.
"""

from __future__ import annotations

import io
import wave
from urllib.parse import urlsplit

import httpx

from voice.audio.resample import resample_pcm16

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
FETCH_TIMEOUT_S = 10.0


class HoldAudioError(Exception):
    pass


def decode_wav(data: bytes, sample_rate: int) -> bytes:
    """PCM16 at `sample_rate` from a 16-bit mono WAV."""
    try:
        with wave.open(io.BytesIO(data), "rb") as wav:
            if wav.getnchannels() != 1 or wav.getsampwidth() != 2:
                raise HoldAudioError("hold audio is not 16-bit mono WAV")
            rate, pcm = wav.getframerate(), wav.readframes(wav.getnframes())
    except (wave.Error, EOFError) as exc:
        raise HoldAudioError(f"hold audio is not a WAV file: {exc}") from exc
    if not pcm:
        raise HoldAudioError("hold audio is empty")
    return pcm if rate == sample_rate else resample_pcm16(pcm, rate, sample_rate)


async def fetch_hold_audio(uri: str, sample_rate: int) -> bytes | None:
    """The hold file as PCM16 at `sample_rate`; None for a URL the simulator does not fetch (not loopback)."""
    if urlsplit(uri).hostname not in LOOPBACK_HOSTS:
        return None
    try:
        async with httpx.AsyncClient(timeout=FETCH_TIMEOUT_S) as http:
            response = await http.get(uri)
    except httpx.HTTPError as exc:
        raise HoldAudioError(f"hold audio fetch failed: {exc!r}") from exc
    if response.status_code != 200:
        raise HoldAudioError(f"hold audio fetch answered {response.status_code}")
    return decode_wav(response.content, sample_rate)


class HoldLoop:
    """The held caller's loudspeaker: the hold audio, one frame per tick, from the top again at its end."""

    def __init__(self, pcm: bytes, frame_len: int) -> None:
        self._pcm = pcm
        self._frame_len = frame_len
        self._pos = 0

    def next_frame(self) -> bytes:
        out = bytearray()
        while len(out) < self._frame_len:
            take = self._pcm[self._pos : self._pos + self._frame_len - len(out)]
            out += take
            self._pos = (self._pos + len(take)) % len(self._pcm)
        return bytes(out)
