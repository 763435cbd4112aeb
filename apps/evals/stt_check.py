"""`switchboard eval --stt-only`: where the embedded recogniser loses the suites' words, without placing calls.

Each call's caller lines (rendered in the chosen voices, as in a real eval) are decoded in order by one
recogniser session with the scenario's phrase model, the way a call is; the report gives the word error rate per
scenario and voice, the digit-string accuracy of the lines that carry an account number, id or code
(`stt_digits`: the exact digits right or wrong, which is what verification needs), the worst lines, the lines
whose digits came out wrong, and the words most often lost.

The final text comes from the recogniser the product uses: `LOCAL_STT_FINAL` (whisper by default, when its
model wheel is installed; pocketsphinx otherwise or when set so), and `EVAL_STT_FALLBACK` sets pocketsphinx's
general-model threshold. The report also gives the time from the end of each line to its final text (p50/p95
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
from dataclasses import dataclass, field
from pathlib import Path

from apps.evals.judge import _norm_text, word_error_rate
from apps.evals.scripts import Suite
from apps.evals.stt_digits import digit_score, digit_strings, digits_right, has_digits
from apps.evals.voices import CallerVoices, check_voice

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


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


@dataclass
class SttReport:
    lines: list[LineResult] = field(default_factory=list)
    recogniser: str = "pocketsphinx"

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
            f"1-5 s: p50 {timing['p50_ms']:.0f} ms, p95 {timing['p95_ms']:.0f} ms",
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
            "lines": [dataclasses.asdict(x) for x in self.lines],
        }


def _pcm(path: Path) -> bytes:
    """The WAV's PCM16 at 16 kHz (piper renders at 22.05 kHz: played as 16 kHz it would be slowed down)."""
    from voice.audio.resample import resample_pcm16

    with wave.open(str(path), "rb") as wav:
        rate, pcm = wav.getframerate(), wav.readframes(wav.getnframes())
    return resample_pcm16(pcm, rate, 16_000) if rate != 16_000 else pcm


async def check_stt(suites: list[Suite], voices: list[str] | None, cache_dir: Path) -> SttReport:
    from registries.loader import load_registry
    from voice.stt.base import SttConfig
    from voice.stt.final_pass import shared_final_pass
    from voice.stt.local import LocalSpeechToText
    from voice.stt.phrases import scenario_phrases

    snapshot = load_registry()
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
                try:
                    for turn in call.turns:
                        if turn.say is None:
                            continue
                        speech = _pcm(audio[turn.say])
                        session.push(silence + speech + silence)
                        began = time.perf_counter()
                        heard = (await session.end_of_turn()).text
                        final_ms = (time.perf_counter() - began) * 1000
                        wer = word_error_rate([turn.say], [heard])
                        seconds = len(speech) / 2 / 16_000
                        report.lines.append(
                            LineResult(suite.suite, call.id, name, turn.say, heard, wer, seconds, final_ms)
                        )
                finally:
                    await session.aclose()
    return report


def run(
    suites: list[Suite], voices: list[str] | None, cache_dir: Path = Path("var/evals/audio")
) -> SttReport:
    return asyncio.run(check_stt(suites, voices, cache_dir))
