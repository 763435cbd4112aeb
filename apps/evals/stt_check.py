"""`switchboard eval --stt-only`: where the embedded recogniser loses the suites' words, without placing calls.

Each call's caller lines (rendered in the chosen voices, as in a real eval) are decoded in order by one
recogniser session with the scenario's phrase model, the way a call is; the report gives the word error rate per
scenario and voice, the digit-string accuracy of the lines that carry an account number, id or code
(`stt_digits`: the exact digits right or wrong, which is what verification needs), the worst lines, the lines
whose digits came out wrong, and the words most often lost.

The final text comes from the recogniser the product uses: `LOCAL_STT_FINAL` (whisper by default, when its
model wheel is installed; pocketsphinx otherwise or when set so), and `EVAL_STT_FALLBACK` sets pocketsphinx's
general-model threshold. Each line's recognition is told what the agent had just asked for, as in a call
(`Expectation`, the cascade's hint): the local brain runs beside the decoding on the script's own words (as
`--text` does, a perfect ear), and the expectation after the turns before a line is that line's hint; a line
said without waiting keeps the hint of the line before it. `EVAL_STT_EXPECT=none` gives no hints. The report also gives the time from the end of each line to its final text (p50/p95
over lines of 1-5 s). Each line is pushed at once, so that time includes pocketsphinx decoding the whole line
(in a call it decodes while the caller speaks): compare the two recognisers with it, and see
`bench/whisper_final.py` for the final pass alone.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import time
import wave
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from apps.evals.judge import _norm_text, word_error_rate
from apps.evals.scripts import CallerTurn, CallScript, Suite
from apps.evals.stt_digits import digit_score, digit_strings, digits_right, has_digits
from apps.evals.text_run import TextCall
from apps.evals.voices import CallerVoices, check_voice
from registries.loader import load_registry
from registries.snapshot import RegistrySnapshot
from registries.toolstore.clock import BusinessClock
from voice.expectation import Expectation

PAD_S = 0.3


@dataclass
class LineResult:
    suite: str
    call: str
    voice: str
    said: str
    heard: str
    wer: float
    seconds: float = 0.0  # the line's speech, without the padding
    final_ms: float = 0.0  # end of the line -> its final text
    expects: str = ""  # what the agent had asked for (the hint the recogniser got), "" for nothing


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


@dataclass
class SttReport:
    lines: list[LineResult] = field(default_factory=list)
    recogniser: str = "pocketsphinx"
    rereads: int = 0  # turns the final pass read again with a digits prompt (an expected number missing)

    def latency(self) -> dict[str, float]:
        """p50/p95 ms from the end of a 1-5 s line to its final text."""
        times = [x.final_ms for x in self.lines if 1.0 <= x.seconds <= 5.0]
        return {"lines": len(times), "p50_ms": _percentile(times, 0.5), "p95_ms": _percentile(times, 0.95)}

    def summary(self) -> str:
        groups: dict[str, list[LineResult]] = {}
        for line in self.lines:
            groups.setdefault(f"{line.suite}@{line.voice}", []).append(line)
        timing = self.latency()
        rows = [
            f"final text by: {self.recogniser}; end of line -> final text over {timing['lines']:.0f} lines of "
            f"1-5 s: p50 {timing['p50_ms']:.0f} ms, p95 {timing['p95_ms']:.0f} ms; "
            f"{self.rereads} turns read again for an expected number",
            "STT word error rate (words said vs recognised, per line, summed); digit strings exactly right:",
        ]
        for key, lines in sorted(groups.items()):
            said = sum(len(_norm_text(x.said).split()) for x in lines)
            errors = sum(x.wer * len(_norm_text(x.said).split()) for x in lines)
            digits = digit_score((x.said, x.heard) for x in lines)
            rows.append(
                f"  {key:32} WER {errors / max(1, said):6.1%} over {len(lines)} lines; digits {digits}"
            )
        rows.append(f"  {'all':32} digits {digit_score((x.said, x.heard) for x in self.lines)}")
        lost: Counter[str] = Counter()
        for line in self.lines:
            heard = set(_norm_text(line.heard).split())
            lost.update(w for w in _norm_text(line.said).split() if w not in heard)
        rows.append("most often lost words: " + ", ".join(f"{w} ({n})" for w, n in lost.most_common(40)))
        rows.append("worst lines:")
        for line in sorted(self.lines, key=lambda x: -x.wer)[:15]:
            rows.append(f"  {line.wer:4.2f} {line.voice:10} said {line.said!r}\n{'':20}heard {line.heard!r}")
        wrong = [x for x in self.lines if has_digits(x.said) and not digits_right(x.said, x.heard)]
        rows.append(f"lines with digits wrong ({len(wrong)}):")
        for line in wrong[:25]:
            rows.append(
                f"  {line.voice:10} said {'/'.join(digit_strings(line.said))} in {line.said!r}\n"
                f"{'':16}heard {'/'.join(digit_strings(line.heard)) or '-'} in {line.heard!r}"
            )
        return "\n".join(rows)

    def as_json(self) -> dict[str, object]:
        return {
            "recogniser": self.recogniser,
            "latency": self.latency(),
            "rereads": self.rereads,
            "lines": [dataclasses.asdict(x) for x in self.lines],
        }


def _pcm(path: Path) -> bytes:
    """The WAV's PCM16 at 16 kHz (piper renders at 22.05 kHz: played as 16 kHz it would be slowed down)."""
    from voice.audio.resample import resample_pcm16

    with wave.open(str(path), "rb") as wav:
        rate, pcm = wav.getframerate(), wav.readframes(wav.getnframes())
    return resample_pcm16(pcm, rate, 16_000) if rate != 16_000 else pcm


class _Hints:
    """What the agent asks before each caller line of one call: the local brain on the script's words."""

    def __init__(self, call: TextCall | None) -> None:
        self._call = call
        self._group = ""  # words of the caller turn in progress (lines said without waiting join it)
        self._spoken = False

    async def before(self, turn: CallerTurn) -> Expectation | None:
        """The hint for `turn` (after telling the brain the turns before it); None for no brain."""
        call = self._call
        if call is None:
            return None
        continuing = self._spoken and turn.dtmf is None and not turn.wait and turn.barge_in_ms is None
        if not continuing:
            await self.flush()
            if turn.dtmf is not None and call.ended is None:
                await call.say("dtmf", turn.dtmf)
        if turn.say is not None:
            self._group = f"{self._group} {turn.say}".strip()
            self._spoken = True
        else:
            self._spoken = False
        return call.expects if call.ended is None else None

    async def flush(self) -> None:
        call, group = self._call, self._group
        self._group, self._spoken = "", False
        if call is not None and group and call.ended is None:
            await call.say("speech", group)


@asynccontextmanager
async def _brain_hints(
    snapshot: RegistrySnapshot,
) -> AsyncIterator[Callable[[Suite, CallScript], Awaitable[_Hints]]]:
    """Per call, a `_Hints` on the local brain and the demo data (an embedded Redis for the run); with
    `EVAL_STT_EXPECT=none`, hints that are always None."""
    if os.environ.get("EVAL_STT_EXPECT", "brain") == "none":

        async def nothing(suite: Suite, call: CallScript) -> _Hints:
            return _Hints(None)

        yield nothing
        return
    from redis.asyncio import Redis

    from apps.backend.storage.embedded_redis import EmbeddedRedis
    from registries.toolstore.demo.store import seed_demo_data
    from voice.llm.local_brain import IntentRouter, LocalBrain, get_shared_encoder

    brain = LocalBrain(IntentRouter(get_shared_encoder()))
    server = EmbeddedRedis()
    await server.start()
    redis = Redis.from_url(server.url)

    async def hints(suite: Suite, call: CallScript) -> _Hints:
        await seed_demo_data(redis, overwrite=True)
        clock = BusinessClock(pinned=suite.placed_on)
        text_call = TextCall(f"stt-{suite.suite}-{call.id}", snapshot, suite.scenario, brain, redis, clock)
        text_call.greet()
        return _Hints(text_call)

    try:
        yield hints
    finally:
        await redis.aclose()
        await server.stop()


async def check_stt(suites: list[Suite], voices: list[str] | None, cache_dir: Path) -> SttReport:
    snapshot = load_registry()
    async with _brain_hints(snapshot) as hints:
        return await _check(snapshot, suites, voices, cache_dir, hints)


async def _check(
    snapshot: RegistrySnapshot,
    suites: list[Suite],
    voices: list[str] | None,
    cache_dir: Path,
    hints: Callable[[Suite, CallScript], Awaitable[_Hints]],
) -> SttReport:
    from voice.stt.base import SttConfig
    from voice.stt.final_pass import shared_final_pass
    from voice.stt.local import LocalSpeechToText
    from voice.stt.phrases import scenario_phrases

    final = shared_final_pass(
        "pocketsphinx" if os.environ.get("LOCAL_STT_FINAL") == "pocketsphinx" else "whisper"
    )
    stt = LocalSpeechToText(
        fallback_below=float(os.environ.get("EVAL_STT_FALLBACK", "0.4")), final_pass=final
    )
    renderer = CallerVoices(cache_dir)
    report = SttReport(recogniser=final.name if final is not None else "pocketsphinx")
    silence = bytes(int(16_000 * PAD_S) * 2)
    for suite in suites:
        phrases = scenario_phrases(snapshot, suite.scenario)
        await stt.prepare(phrases)
        for name in voices or suite.voices:
            voice = check_voice(name)
            texts = sorted({t.say for c in suite.calls for t in c.turns if t.say is not None})
            audio = await renderer.render_all(voice, texts)
            for call in suite.calls:
                session = await stt.open_session(
                    SttConfig(sample_rate=16_000, phrases=phrases, call_id=call.id)
                )
                asked = await hints(suite, call)
                try:
                    for turn in call.turns:
                        expects = await asked.before(turn)
                        if turn.say is None:
                            continue
                        session.expect(expects)
                        speech = _pcm(audio[turn.say])
                        session.push(silence + speech + silence)
                        began = time.perf_counter()
                        heard = (await session.end_of_turn()).text
                        final_ms = (time.perf_counter() - began) * 1000
                        wer = word_error_rate([turn.say], [heard])
                        seconds = len(speech) / 2 / 16_000
                        hint = expects.describe() if expects is not None else ""
                        report.lines.append(
                            LineResult(
                                suite.suite, call.id, name, turn.say, heard, wer, seconds, final_ms, hint
                            )
                        )
                finally:
                    await session.aclose()
    report.rereads = final.rereads if final is not None else 0
    return report


def run(
    suites: list[Suite], voices: list[str] | None, cache_dir: Path = Path("var/evals/audio")
) -> SttReport:
    return asyncio.run(check_stt(suites, voices, cache_dir))
