"""The caller's side of the conversation: a script of steps, rendered to PCM at the call's rate.

Steps: Say(text) (project TTS), PlayWav(path), Pause(seconds), SendDtmf(digits), WaitForAgent(),
WaitForAgentStart(after_ms) (for scripted barge-ins: speak `after_ms` into the agent's reply), Tone(hz, seconds).
`CallerAudioSource` is what the media tick loop pulls one 20 ms frame from; `CallerScriptRunner` feeds it
step by step and waits on the agent when the script says so.
"""

from __future__ import annotations

import asyncio
import importlib.util
import wave
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import soxr

from apps.acs_simulator import timeline as tl
from apps.acs_simulator.media_messages import FRAME_MS, frame_bytes

DTMF_DIGITS = set("0123456789*#ABCD")
DTMF_TONE_FRAMES = 12  # a key press plus the gap before the next one: 240 ms


@dataclass(frozen=True, slots=True)
class Say:
    text: str


@dataclass(frozen=True, slots=True)
class PlayWav:
    path: Path | str


@dataclass(frozen=True, slots=True)
class Pause:
    seconds: float


@dataclass(frozen=True, slots=True)
class SendDtmf:
    digits: str


@dataclass(frozen=True, slots=True)
class WaitForAgent:
    """Wait until the agent has answered the caller's last utterance and stopped talking.

    Returns early when the agent does not start within `start_timeout_s`; gives up after `timeout_s`.
    The agent's turn is over after `turn_gap_s` of silence: pauses between its sentences are shorter.
    """

    start_timeout_s: float = 5.0
    timeout_s: float = 30.0
    turn_gap_s: float = 0.7


@dataclass(frozen=True, slots=True)
class WaitForAgentStart:
    """Wait until the agent starts answering, then `after_ms` more: the next step then talks over its reply.

    This is how a script barges in at a chosen point of the agent's audio. The agent's answer is audio that
    starts after the caller's last utterance ended (or audio still playing then); `after_ms` counts on the
    media clock from when that audio started, or from the end of the caller's utterance when the agent was
    already talking. Returns early (with a wait_timeout event) when the agent does not start within
    `start_timeout_s`.
    """

    after_ms: float = 0.0
    start_timeout_s: float = 5.0


@dataclass(frozen=True, slots=True)
class Tone:
    """A pure tone, like a voicemail's beep after its greeting."""

    hz: float = 1000.0
    seconds: float = 0.5
    dbfs: float = -10.0


def render_tone(step: Tone, sample_rate: int) -> bytes:
    t = np.arange(round(sample_rate * step.seconds)) / sample_rate
    samples = 32767.0 * 10 ** (step.dbfs / 20) * np.sin(2 * np.pi * step.hz * t)
    return np.round(samples).astype("<i2").tobytes()


CallerStep = Say | PlayWav | Pause | SendDtmf | WaitForAgent | WaitForAgentStart | Tone


class ScriptError(ValueError):
    """The script cannot be played (bad step, missing file, TTS unavailable)."""


def validate_script(steps: Sequence[CallerStep]) -> None:
    for step in steps:
        if isinstance(step, Say):
            if not step.text.strip():
                raise ScriptError("say: empty text")
            if importlib.util.find_spec("voice.tts.local") is None:
                raise ScriptError(
                    "say needs the project TTS (voice.tts.local.EspeakTts), which is not installed"
                )
        elif isinstance(step, PlayWav):
            if not Path(step.path).is_file():
                raise ScriptError(f"wav: no such file: {step.path}")
        elif isinstance(step, Pause):
            if step.seconds < 0:
                raise ScriptError("pause: seconds must be >= 0")
        elif isinstance(step, SendDtmf):
            bad = set(step.digits) - DTMF_DIGITS
            if not step.digits or bad:
                raise ScriptError(f"dtmf: digits must be from 0-9 * # A-D, got {step.digits!r}")
        elif isinstance(step, WaitForAgentStart):
            if step.after_ms < 0:
                raise ScriptError("wait for agent start: after_ms must be >= 0")
            if step.start_timeout_s <= 0:
                raise ScriptError("wait for agent start: start_timeout_s must be > 0")
        elif isinstance(step, Tone):
            if not (20.0 <= step.hz <= 8000.0 and 0.0 < step.seconds <= 10.0):
                raise ScriptError("tone: hz must be 20-8000 and seconds 0-10")
        elif not isinstance(step, WaitForAgent):
            raise ScriptError(f"unknown script step {step!r}")


def load_wav(path: Path | str, sample_rate: int) -> bytes:
    """PCM16 mono at `sample_rate` from a PCM WAV file (8/16/32-bit, any rate, channels averaged)."""
    with wave.open(str(path), "rb") as wav:
        width, channels, rate = wav.getsampwidth(), wav.getnchannels(), wav.getframerate()
        raw = wav.readframes(wav.getnframes())
    if width == 1:
        samples = (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0) * 256.0
    elif width == 2:
        samples = np.frombuffer(raw, dtype="<i2").astype(np.float32)
    elif width == 4:
        samples = np.frombuffer(raw, dtype="<i4").astype(np.float32) / 65536.0
    else:
        raise ScriptError(f"wav: unsupported sample width {width} bytes in {path}")
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1)
    if rate != sample_rate:
        samples = soxr.resample(samples, rate, sample_rate)
    return np.clip(np.round(samples), -32768, 32767).astype("<i2").tobytes()


async def synthesize(text: str, sample_rate: int) -> bytes:
    try:
        from voice.tts.local import EspeakTts
    except ImportError as exc:
        raise ScriptError(f"say needs voice.tts.local.EspeakTts: {exc}") from exc
    return bytes(await EspeakTts().synthesize(text, sample_rate=sample_rate))


@dataclass(slots=True)
class _Item:
    kind: str  # "audio" | "silence" | "dtmf"
    done: asyncio.Future[None]
    pcm: bytes = b""
    frames: int = 0
    digit: str = ""
    label: str = ""
    pos: int = 0
    started: bool = False


Emit = Callable[..., Any]


class CallerAudioSource:
    """Frames for the media tick loop: queued caller audio, else silence (sent with silent=true)."""

    def __init__(self, sample_rate: int, emit: Emit) -> None:
        self.frame_len = frame_bytes(sample_rate)
        self._silence = bytes(self.frame_len)
        self._emit = emit  # emit(kind, t_ms=..., **detail)
        self._items: deque[_Item] = deque()
        self.last_speech_end_ms: float | None = None

    def _enqueue(self, item: _Item) -> asyncio.Future[None]:
        self._items.append(item)
        return item.done

    def _future(self) -> asyncio.Future[None]:
        return asyncio.get_running_loop().create_future()

    def say(self, pcm: bytes, label: str) -> asyncio.Future[None]:
        pcm += bytes(-len(pcm) % self.frame_len)
        return self._enqueue(_Item("audio", self._future(), pcm=pcm, label=label))

    def silence(self, seconds: float) -> asyncio.Future[None]:
        return self._enqueue(_Item("silence", self._future(), frames=round(seconds * 1000 / FRAME_MS)))

    def dtmf(self, digit: str) -> asyncio.Future[None]:
        return self._enqueue(_Item("dtmf", self._future(), frames=DTMF_TONE_FRAMES, digit=digit))

    def next(self, t_ms: float) -> tuple[bytes, bool, str | None]:
        """(frame, silent, DTMF digit to send now) for the frame that starts at t_ms."""
        while self._items:
            item = self._items[0]
            if item.kind == "audio" and item.pos < len(item.pcm):
                if not item.started:
                    item.started = True
                    self._emit(tl.CALLER_SPEECH_START, t_ms=t_ms, what=item.label)
                frame = item.pcm[item.pos : item.pos + self.frame_len]
                item.pos += self.frame_len
                if item.pos >= len(item.pcm):
                    self._finish(item)
                    self.last_speech_end_ms = t_ms + FRAME_MS
                    self._emit(tl.CALLER_SPEECH_END, t_ms=t_ms + FRAME_MS, what=item.label)
                return frame, False, None
            if item.kind in ("silence", "dtmf") and item.pos < item.frames:
                digit = item.digit if item.kind == "dtmf" and item.pos == 0 else None
                if digit:
                    self._emit(tl.DTMF_SENT, t_ms=t_ms, digit=digit)
                item.pos += 1
                if item.pos >= item.frames:
                    self._finish(item)
                return self._silence, True, digit
            self._finish(item)  # empty audio / zero-length pause
        return self._silence, True, None

    def _finish(self, item: _Item) -> None:
        if self._items and self._items[0] is item:
            self._items.popleft()
        if not item.done.done():
            item.done.set_result(None)

    def close(self) -> None:
        for item in self._items:
            item.done.cancel()
        self._items.clear()


class AgentEar(Protocol):
    """What the script needs from the media session: the agent-speech detector on the media clock."""

    @property
    def detector(self) -> tl.AgentAudioDetector: ...

    def now_ms(self) -> float: ...

    def wait_until(self, predicate: Callable[[], bool], timeout_s: float) -> Awaitable[bool]: ...


@dataclass
class CallerScriptRunner:
    steps: Sequence[CallerStep]
    source: CallerAudioSource
    ear: AgentEar
    sample_rate: int
    emit: Emit
    rendered: dict[int, bytes] = field(default_factory=dict)
    finished_ms: float | None = None

    async def prepare(self) -> None:
        for index, step in enumerate(self.steps):
            if isinstance(step, Say):
                self.rendered[index] = await synthesize(step.text, self.sample_rate)
            elif isinstance(step, PlayWav):
                self.rendered[index] = await asyncio.to_thread(load_wav, step.path, self.sample_rate)
            elif isinstance(step, Tone):
                self.rendered[index] = render_tone(step, self.sample_rate)

    async def run(self) -> None:
        await self.prepare()
        for index, step in enumerate(self.steps):
            if isinstance(step, Say | PlayWav):
                label = f"say:{step.text[:40]}" if isinstance(step, Say) else f"wav:{Path(step.path).name}"
                await self.source.say(self.rendered[index], label)
            elif isinstance(step, Tone):
                await self.source.say(self.rendered[index], f"tone:{step.hz:g}Hz")
            elif isinstance(step, Pause):
                await self.source.silence(step.seconds)
            elif isinstance(step, SendDtmf):
                for digit in step.digits:
                    await self.source.dtmf(digit)
            elif isinstance(step, WaitForAgent):
                await self.wait_for_agent(step)
            elif isinstance(step, WaitForAgentStart):
                await self.wait_for_agent_start(step)
        self.finished_ms = self.ear.now_ms()

    def _since_ms(self) -> float:
        """Agent audio from this point on answers the caller: the end of their last utterance (or now)."""
        if self.source.last_speech_end_ms is not None:
            return self.source.last_speech_end_ms
        return self.ear.now_ms()

    def _answered(self, since: float) -> Callable[[], bool]:
        detector = self.ear.detector

        def answered() -> bool:
            return detector.speaking or (
                detector.last_start_ms is not None and detector.last_start_ms >= since
            )

        return answered

    async def wait_for_agent(self, step: WaitForAgent) -> None:
        detector = self.ear.detector
        if not await self.ear.wait_until(self._answered(self._since_ms()), step.start_timeout_s):
            self.emit(tl.WAIT_TIMEOUT, reason="agent did not start speaking", after_s=step.start_timeout_s)
            return

        def finished() -> bool:
            return detector.silent_for_ms(self.ear.now_ms()) >= step.turn_gap_s * 1000.0

        if not await self.ear.wait_until(finished, step.timeout_s):
            self.emit(tl.WAIT_TIMEOUT, reason="agent still speaking", after_s=step.timeout_s)

    async def wait_for_agent_start(self, step: WaitForAgentStart) -> None:
        since = self._since_ms()
        if not await self.ear.wait_until(self._answered(since), step.start_timeout_s):
            self.emit(tl.WAIT_TIMEOUT, reason="agent did not start speaking", after_s=step.start_timeout_s)
            return
        started = self.ear.detector.last_start_ms
        until_ms = max(since, started if started is not None else since) + step.after_ms

        def reached() -> bool:
            return self.ear.now_ms() >= until_ms

        # Slack over after_ms: the media clock is paced in real time, so this only guards a stalled stream.
        await self.ear.wait_until(reached, step.after_ms / 1000 + 5.0)
