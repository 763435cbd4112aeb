"""Offline experiment: is there a tier of end-of-turn certainty that can end a turn after ~200 ms of silence
without cutting callers at their mid-line pauses (commas, breaths)?

For every caller line of every eval suite (`apps/evals/suites/`), in the rendered eval voices (piper-joe,
espeak-us; cached under var/evals/audio, rendered if missing), and for the latency benchmark's lines
(`bench.latency`, espeak, its scripted gaps included):

- the product's Silero VAD (`voice.audio.vad`) in 32 ms windows drives the product's `TurnTracker` (semantic
  policy, its thresholds) with an end-of-turn silence too long to fire, so every pause inside the line is
  reported (`TurnPaused` / `TurnResumed`), and the line end as the pause that never resumes;
- at each pause: the smart-turn score of the turn so far as `TurnJudge` gives it (the audio from 500 ms before
  the onset up to `score_after_ms` into the pause, the model's last 8 s), the pause length, and the words
  before it: the embedded recogniser's streaming partial (pocketsphinx on the scenario's phrase model, as
  `LocalSttSession` decodes it: 16 kHz, its noise floor, its starting cepstral mean) read 200 ms into the
  pause; for the benchmark's line ends the script's words (the benchmark's recogniser is scripted);
- candidate rules over (score, words) say which pauses and line ends would end the turn at 200 ms.

Run: `.venv/bin/python -m bench.turn_tiers --out var/bench/turn_tiers.json` (about 7 CPU-minutes per voice;
`--limit N` lines per scenario for a quick look, `--tables-from run.json ...` to re-tabulate saved points).

Finding (2026-12-06, 1092 piper-joe lines, 300 espeak-us lines): no rule separates. A pause counts from 224 ms
(7 windows: what a 200 ms tier waits). Piper: 731 pauses of 224-384 ms; the current COMPLETE (score >= 0.5 or
complete words) would end 71.8% of line ends at 200 ms but cut 56% of those pauses; score >= 0.9 and complete
words and more than two words: 21.9% of line ends, 1.6% of pauses cut. Most cuts that remain follow a whole
sentence inside a longer caller line ("That's all for today. | Bye."), which neither signal can tell from an end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import wave
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

import numpy as np

from apps.evals.scripts import find_suites
from apps.evals.voices import CallerVoices, check_voice
from voice.audio.resample import resample_pcm16
from voice.audio.turn_model import MAX_SAMPLES, SmartTurnModel, log_mel
from voice.audio.turns import TurnPaused, TurnPolicy, TurnResumed, TurnStarted, TurnTracker
from voice.audio.vad import VadStream
from voice.speech_cascade.unfinished import sounds_complete, sounds_unfinished

RATE = 16000
WINDOW_MS = 32
LEAD_MS = 500  # silence before a line (the call's audio before the caller speaks)
TAIL_MS = 1200  # silence after it
PREROLL_MS = 500  # TurnJudge keeps this much before the onset
DECIDE_MS = 200  # the candidate tier's silence: words are read this far into a pause
TIER_SILENCES = (224, 256, 288, 320, 352, 384)  # what a tier of that silence (whole 32 ms windows) would cut
_NOISE_FLOOR_STD = 20.0  # LocalSttSession's added noise floor


@dataclass
class Point:
    source: str  # "piper-joe" | "espeak-us" | "bench"
    line: str
    kind: str  # "pause" | "end"
    at_ms: int  # end of the last voiced window before the pause, from the line's audio start
    pause_ms: int | None  # None for a line end
    score: float
    words: str
    words_complete: bool
    words_unfinished: bool


def _read_wav(path: Path) -> bytes:
    with wave.open(str(path), "rb") as wav:
        rate = wav.getframerate()
        pcm = wav.readframes(wav.getnframes())
    return resample_pcm16(pcm, rate, RATE) if rate != RATE else pcm


def _ms_to_bytes(ms: int) -> int:
    return RATE * ms // 1000 * 2


def _pauses(pcm: bytes) -> tuple[int | None, list[tuple[int, int | None]]]:
    """(turn onset ms, [(pause start ms, length ms or None for the line end)]) on the padded audio."""
    policy = TurnPolicy(
        mode="semantic", min_silence_ms=10_000, end_of_turn_silence_ms=10_000, speculate_after_ms=0
    )
    tracker = TurnTracker(policy)
    vad = VadStream()
    onset: int | None = None
    open_pause: int | None = None
    pauses: list[tuple[int, int | None]] = []
    for probability in vad.push(pcm):
        for event in tracker.update(probability, agent_active=False):
            if isinstance(event, TurnStarted) and onset is None:
                onset = event.at_ms
            elif isinstance(event, TurnPaused):
                open_pause = event.at_ms
            elif isinstance(event, TurnResumed) and open_pause is not None:
                pauses.append((open_pause, event.at_ms - open_pause))
                open_pause = None
    if open_pause is not None:
        pauses.append((open_pause, None))
    return onset, pauses


class Partials:
    """The embedded recogniser's streaming partial at chosen points of one line."""

    def __init__(self, phrases: list[str]) -> None:
        from voice.stt.local_engine import PhraseSlot
        from voice.stt.phrase_model import build_phrase_model

        self._slot = PhraseSlot(build_phrase_model(phrases))
        self._noise = np.random.default_rng(0)

    def at(self, pcm: bytes, points_ms: list[int]) -> list[str]:
        from voice.stt.local_decoding import feed, reset

        decoder = self._slot.acquire()
        reset(decoder, self._slot.initial_cmn)
        decoder.start_utt()
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
        samples += self._noise.normal(0.0, _NOISE_FLOOR_STD, samples.shape).astype(np.float32)
        audio = np.clip(np.rint(samples), -32768, 32767).astype("<i2").tobytes()
        texts: list[str] = []
        done = 0
        for point in sorted(points_ms):
            upto = min(len(audio), _ms_to_bytes(point))
            if upto > done:
                feed(decoder, audio[done:upto])
                done = upto
            hyp = decoder.hyp()
            texts.append(hyp.hypstr.strip() if hyp is not None else "")
        decoder.end_utt()
        self._slot.release(decoder)
        order = sorted(range(len(points_ms)), key=lambda i: points_ms[i])
        result = [""] * len(points_ms)
        for rank, index in enumerate(order):
            result[index] = texts[rank]
        return result


def _score(model: SmartTurnModel, pcm: bytes, onset_ms: int, upto_ms: int) -> float:
    start = _ms_to_bytes(max(0, onset_ms - PREROLL_MS))
    chunk = pcm[start : _ms_to_bytes(upto_ms)]
    audio = np.frombuffer(chunk, dtype="<i2").astype(np.float32)[-MAX_SAMPLES:] / 32768.0
    return float(model.complete_probability(log_mel(audio)[None])[0])


def analyse_line(
    source: str,
    text: str,
    line_pcm: bytes,
    model: SmartTurnModel,
    partials: Partials,
    *,
    end_words: str | None = None,
    score_after_ms: int = 64,
) -> list[Point]:
    pcm = bytes(_ms_to_bytes(LEAD_MS)) + line_pcm + bytes(_ms_to_bytes(TAIL_MS))
    onset, pauses = _pauses(pcm)
    if onset is None or not pauses:
        return []
    words = partials.at(pcm, [start + DECIDE_MS for start, _ in pauses])
    points = []
    for (start, length), heard in zip(pauses, words, strict=True):
        if length is None and end_words is not None:
            heard = end_words
        points.append(
            Point(
                source=source,
                line=text,
                kind="end" if length is None else "pause",
                at_ms=start - LEAD_MS,
                pause_ms=length,
                score=round(_score(model, pcm, onset, start + score_after_ms), 4),
                words=heard,
                words_complete=sounds_complete(heard),
                words_unfinished=sounds_unfinished(heard),
            )
        )
    return points


# --- rules -----------------------------------------------------------------------------------------------

Rule = Callable[[Point], bool]


def _n_words(p: Point) -> int:
    return len(p.words.split())


def _today(p: Point) -> bool:
    return not p.words_unfinished and (p.score >= 0.5 or p.words_complete)


def _words(p: Point) -> bool:
    return p.words_complete


def _score_at(t: float, p: Point) -> bool:
    return p.score >= t and not p.words_unfinished


def _both(t: float, p: Point) -> bool:
    return p.score >= t and p.words_complete


def _both_long(t: float, p: Point) -> bool:
    return p.score >= t and p.words_complete and _n_words(p) > 2


def rules() -> dict[str, Rule]:
    out: dict[str, Rule] = {
        "COMPLETE today (score>=0.5 or words_complete; not unfinished)": _today,
        "words_complete": _words,
    }
    for t in (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98):
        out[f"score>={t} & not unfinished"] = partial(_score_at, t)
    for t in (0.3, 0.5, 0.7, 0.8, 0.9, 0.95):
        out[f"score>={t} & words_complete"] = partial(_both, t)
    for t in (0.5, 0.7, 0.8, 0.9):
        out[f"score>={t} & words_complete & >2 words"] = partial(_both_long, t)
    return out


def table(points: list[Point]) -> list[dict[str, object]]:
    ends = [p for p in points if p.kind == "end"]
    pauses = [p for p in points if p.kind == "pause" and p.pause_ms is not None and p.pause_ms >= 160]
    commas = [p for p in pauses if p.pause_ms is not None and 200 <= p.pause_ms < 400]
    long_ = [p for p in pauses if p.pause_ms is not None and p.pause_ms >= 200]
    rows: list[dict[str, object]] = []
    for name, rule in rules().items():
        hits_ends = sum(1 for p in ends if rule(p))
        hits_commas = sum(1 for p in commas if rule(p))
        hits_long = sum(1 for p in long_ if rule(p))
        rows.append(
            {
                "rule": name,
                "ends": len(ends),
                "ends_at_200_pct": round(100 * hits_ends / max(1, len(ends)), 1),
                "pauses_200_400": len(commas),
                "cut_200_400": hits_commas,
                "cut_200_400_pct": round(100 * hits_commas / max(1, len(commas)), 1),
                "pauses_ge_200": len(long_),
                "cut_ge_200": hits_long,
                "cuts_by_tier_silence": {
                    t: sum(1 for p in pauses if p.pause_ms is not None and p.pause_ms >= t and rule(p))
                    for t in TIER_SILENCES
                },
            }
        )
    return rows


# --- sources ---------------------------------------------------------------------------------------------


async def suite_lines(voice_name: str, cache: Path) -> dict[str, list[tuple[str, Path]]]:
    """scenario -> [(line, wav)] for every caller line of every suite in `voice_name`."""
    voice = check_voice(voice_name)
    by_scenario: dict[str, set[str]] = {}
    for suite in find_suites([]):
        for call in suite.calls:
            by_scenario.setdefault(suite.scenario, set()).update(t.say for t in call.turns if t.say)
    renderer = CallerVoices(cache)
    out: dict[str, list[tuple[str, Path]]] = {}
    for scenario, texts in sorted(by_scenario.items()):
        paths = await renderer.render_all(voice, sorted(texts))
        out[scenario] = sorted(paths.items())
    return out


def scenario_phrases_for(scenario: str) -> list[str]:
    from registries.loader import load_registry
    from voice.stt.phrases import scenario_phrases

    return scenario_phrases(load_registry(), scenario)


async def bench_points(model: SmartTurnModel, partials: Partials) -> list[Point]:
    from bench.latency import caller_lines, make_caller_phrases

    points: list[Point] = []
    with tempfile.TemporaryDirectory(prefix="sb-turn-tiers-") as scratch:
        phrases = await make_caller_phrases(caller_lines(), Path(scratch))
        for phrase in {p.text: p for p in phrases}.values():
            pcm = _read_wav(phrase.path)
            words = " ".join(part for part, _ in phrase.parts)
            points += analyse_line("bench", phrase.text, pcm, model, partials, end_words=words)
    return points


async def main_async(voices: list[str], cache: Path, limit: int | None) -> dict[str, object]:
    model = SmartTurnModel()
    phrase_sets = {s: scenario_phrases_for(s) for s in ("banking", "insurance")}
    partials = {s: Partials(p) for s, p in phrase_sets.items()}
    points: list[Point] = []
    for voice_name in voices:
        lines = await suite_lines(voice_name, cache)
        for scenario, items in lines.items():
            decoder = partials.get(scenario) or Partials(scenario_phrases_for(scenario))
            for text, path in items[:limit]:
                points += analyse_line(voice_name, text, _read_wav(path), model, decoder)
        print(f"{voice_name}: {sum(1 for p in points if p.source == voice_name)} points", flush=True)
    points += await bench_points(model, partials["banking"])
    sources = sorted({p.source for p in points})
    result: dict[str, object] = {
        "decide_ms": DECIDE_MS,
        "words": "embedded recogniser partial (pocketsphinx, scenario phrase model) 200 ms into each pause; "
        "bench line ends: the script",
        "tables": {s: table([p for p in points if p.source == s]) for s in sources},
        "points": [asdict(p) for p in points],
    }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("var/bench/turn_tiers.json"))
    parser.add_argument("--voices", nargs="*", default=["piper-joe", "espeak-us"])
    parser.add_argument("--cache", type=Path, default=Path("var/evals/audio"))
    parser.add_argument("--limit", type=int, default=None, help="lines per scenario (a quick look)")
    parser.add_argument(
        "--tables-from", type=Path, nargs="*", help="recompute the tables of earlier runs' points"
    )
    args = parser.parse_args()
    if args.tables_from:
        saved = [Point(**p) for f in args.tables_from for p in json.loads(f.read_text())["points"]]
        points = list(
            {(p.source, p.line, p.kind, p.at_ms): p for p in saved}.values()
        )  # runs share the bench
        result: dict[str, object] = {
            "tables": {
                s: table([p for p in points if p.source == s]) for s in sorted({p.source for p in points})
            }
        }
    else:
        result = asyncio.run(main_async(args.voices, args.cache, args.limit))
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1))
    tables = result["tables"]
    assert isinstance(tables, dict)
    for source, rows in tables.items():
        print(f"\n== {source}")
        for row in rows:
            print(
                f"{row['rule']:<58} ends@200 {row['ends_at_200_pct']:5.1f}% of {row['ends']:<4} "
                f"cut 200-400: {row['cut_200_400']:>3}/{row['pauses_200_400']:<4} ({row['cut_200_400_pct']}%) "
                f"cut>=200: {row['cut_ge_200']}/{row['pauses_ge_200']}  by tier silence: "
                f"{row['cuts_by_tier_silence']}"
            )


if __name__ == "__main__":
    main()
