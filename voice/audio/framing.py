"""Fixed-size PCM16 framing: ACS media streams and playback move audio in 20 ms frames."""

from __future__ import annotations

from functools import lru_cache

FRAME_MS = 20
BYTES_PER_SAMPLE = 2  # PCM16 mono


def frame_size_bytes(sample_rate: int, ms: int = FRAME_MS) -> int:
    """Bytes in one `ms` frame of PCM16 mono (640 at 16 kHz, 960 at 24 kHz for 20 ms)."""
    samples, remainder = divmod(sample_rate * ms, 1000)
    if remainder or samples <= 0:
        raise ValueError(f"{ms} ms at {sample_rate} Hz is not a whole, positive number of samples")
    return samples * BYTES_PER_SAMPLE


@lru_cache(maxsize=32)
def silence(frame_bytes: int) -> bytes:
    """A zero frame of `frame_bytes`; cached so playing silence allocates nothing."""
    return bytes(frame_bytes)


class PcmFramer:
    """Cuts an arbitrary byte stream into whole frames, keeping the remainder for the next push."""

    def __init__(self, frame_bytes: int) -> None:
        if frame_bytes <= 0 or frame_bytes % BYTES_PER_SAMPLE:
            raise ValueError(f"frame size must be a positive whole number of samples, got {frame_bytes}")
        self.frame_bytes = frame_bytes
        self._buffer = bytearray()

    @property
    def pending_bytes(self) -> int:
        return len(self._buffer)

    def push(self, data: bytes) -> list[bytes]:
        """Add `data`; return every complete frame now available (oldest first)."""
        size = self.frame_bytes
        buffer = self._buffer
        # Common case on the media path: an exact frame with nothing pending goes straight through.
        if not buffer and len(data) == size and type(data) is bytes:
            return [data]
        if buffer:
            buffer += data
            source: bytes | bytearray = buffer
        else:
            source = data
        whole = len(source) - len(source) % size
        if whole == 0:
            if source is data:
                buffer += data
            return []
        # Slicing a memoryview copies once (into the new bytes) instead of twice.
        with memoryview(source) as view:
            frames = [bytes(view[start : start + size]) for start in range(0, whole, size)]
            if source is data:
                buffer += view[whole:]
        if source is buffer:
            del buffer[:whole]  # only after the view is released: a bytearray can't resize while exported
        return frames

    def flush(self, pad: bool = True) -> bytes | None:
        """Return the buffered tail (zero-padded to a whole frame when `pad`), or None if empty."""
        if not self._buffer:
            return None
        tail = bytes(self._buffer)
        self._buffer.clear()
        if pad:
            tail += silence(self.frame_bytes)[: self.frame_bytes - len(tail)]
        return tail

    def clear(self) -> None:
        """Drop the buffered tail (e.g. when playback is interrupted)."""
        self._buffer.clear()


def split_frames(pcm: bytes, frame_bytes: int, pad: bool = True) -> list[bytes]:
    """Split a whole buffer into frames; the last one is zero-padded when `pad`, else left short."""
    framer = PcmFramer(frame_bytes)
    frames = framer.push(pcm)
    tail = framer.flush(pad=pad)
    if tail is not None:
        frames.append(tail)
    return frames
