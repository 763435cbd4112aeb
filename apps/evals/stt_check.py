"""`switchboard eval --stt-only`: where the embedded recogniser loses the suites' words, without placing calls.

Each call's caller lines (rendered in the chosen voices, as in a real eval) are decoded in order by one
recogniser session with the scenario's phrase model, the way a call is; the report gives the word error rate per
scenario and voice, the worst lines, and the words most often lost.
"""

from __future__ import annotations

import asyncio
import wave
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from apps.evals.judge import _norm_text, word_error_rate
from apps.evals.scripts import Suite
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


@dataclass
class SttReport:
    lines: list[LineResult] = field(default_factory=list)

    def summary(self) -> str:
        groups: dict[str, list[LineResult]] = {}
        for line in self.lines:
            groups.setdefault(f"{line.suite}@{line.voice}", []).append(line)
        rows = ["STT word error rate (words said vs recognised, per line, summed):"]
        for key, lines in sorted(groups.items()):
            said = sum(len(_norm_text(x.said).split()) for x in lines)
            errors = sum(x.wer * len(_norm_text(x.said).split()) for x in lines)
            rows.append(f"  {key:32} {errors / max(1, said):6.1%} over {len(lines)} lines")
        lost: Counter[str] = Counter()
        for line in self.lines:
            heard = set(_norm_text(line.heard).split())
            lost.update(w for w in _norm_text(line.said).split() if w not in heard)
        rows.append("most often lost words: " + ", ".join(f"{w} ({n})" for w, n in lost.most_common(40)))
        rows.append("worst lines:")
        for line in sorted(self.lines, key=lambda x: -x.wer)[:15]:
            rows.append(f"  {line.wer:4.2f} {line.voice:10} said {line.said!r}\n{'':20}heard {line.heard!r}")
        return "\n".join(rows)


def _pcm(path: Path) -> bytes:
    with wave.open(str(path), "rb") as wav:
        return wav.readframes(wav.getnframes())


async def check_stt(suites: list[Suite], voices: list[str] | None, cache_dir: Path) -> SttReport:
    from registries.loader import load_registry
    from voice.stt.base import SttConfig
    from voice.stt.local import LocalSpeechToText
    from voice.stt.phrases import scenario_phrases

    snapshot = load_registry()
    stt = LocalSpeechToText(fallback_below=float(__import__("os").environ.get("EVAL_STT_FALLBACK", "0.4")))
    renderer = CallerVoices(cache_dir)
    report = SttReport()
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
                        session.push(silence + _pcm(audio[turn.say]) + silence)
                        heard = (await session.end_of_turn()).text
                        wer = word_error_rate([turn.say], [heard])
                        report.lines.append(LineResult(suite.suite, call.id, name, turn.say, heard, wer))
                finally:
                    await session.aclose()
    return report


def run(
    suites: list[Suite], voices: list[str] | None, cache_dir: Path = Path("var/evals/audio")
) -> SttReport:
    return asyncio.run(check_stt(suites, voices, cache_dir))
