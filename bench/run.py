"""`make bench`: run the benchmarks one after another and write their results.

    python -m bench.run [--quick] [--only latency,bargein,voicelive,capacity,refresh,coldstart,amd] [--out bench/results]

Every benchmark is a module `bench/<name>.py` with `NAME: str` and
`async def run(out_dir: Path, *, quick: bool) -> dict` returning
`{"name", "targets": [{"name", "target", "value", "unit", "met"}], "table": {"columns", "rows"}?,
"notes": [str]?, "histograms": {label: [ms]}?, ...raw samples}`.

Writes `<out>/<name>.json` per benchmark, `<out>/summary.md` and `<out>/latency_histogram.png`. Benchmarks
never run concurrently (they measure timing). A module that does not exist yet is skipped with a message.
Exit code 0 when every benchmark ran, even if targets were missed (summary.md says so); 1 if one crashed;
2 for bad arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import logging
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from bench.report import (
    check_result,
    jsonable,
    machine_facts,
    render_histogram,
    render_summary,
)

BENCHES = (
    "latency", "bargein", "voicelive", "browser", "capacity", "refresh", "guidance", "coldstart", "whisper_final",
    "amd",
)  # fmt: skip
DEFAULT_OUT = Path(__file__).resolve().parent / "results"
SUMMARY = "summary.md"
HISTOGRAM = "latency_histogram.png"

log = logging.getLogger("bench")


class MissingBench(Exception):
    """bench/<name>.py does not exist (yet)."""


def parse_only(text: str | None) -> list[str]:
    """The benchmarks to run, in the canonical order; unknown names are an argument error."""
    if not text:
        return list(BENCHES)
    wanted = [name.strip() for name in text.split(",") if name.strip()]
    unknown = sorted(set(wanted) - set(BENCHES))
    if unknown:
        raise ValueError(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHES)}")
    return [name for name in BENCHES if name in wanted]


def load_bench(name: str) -> ModuleType:
    """bench.<name>, checked for the contract. MissingBench only when that module itself is absent: an
    import error inside an existing module is a crash, not a skip."""
    module_name = f"bench.{name}"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            raise MissingBench(f"bench/{name}.py does not exist yet") from None
        raise
    if getattr(module, "NAME", None) != name or not callable(getattr(module, "run", None)):
        raise TypeError(f"{module_name} must define NAME = {name!r} and async def run(out_dir, *, quick)")
    return module


def run_one(module: ModuleType, name: str, out: Path, quick: bool) -> dict[str, Any]:
    """Run one benchmark in its own event loop, check its result and stamp when/how it ran."""
    started_at = datetime.now(UTC)
    started = time.monotonic()
    result = asyncio.run(module.run(out, quick=quick))
    check_result(result, name)
    result = dict(result)
    result["meta"] = {
        **result.get("meta", {}),
        "started_at": started_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
        "duration_s": round(time.monotonic() - started, 1),
        "quick": quick,
    }
    return jsonable(result)


def load_earlier(out: Path, names: list[str]) -> list[dict[str, Any]]:
    """Results of benchmarks not run this time but present in `out` from a previous run, so summary.md
    keeps covering everything after `--only`; marked as earlier in the summary."""
    earlier = []
    for name in names:
        path = out / f"{name}.json"
        if not path.is_file():
            continue
        try:
            result = json.loads(path.read_text())
            check_result(result, name)
        except (ValueError, OSError) as exc:
            log.warning("ignoring %s: %s", path, exc)
            continue
        result.setdefault("meta", {})["earlier"] = True
        earlier.append(result)
    return earlier


def write_json(path: Path, result: dict[str, Any]) -> None:
    path.write_text(json.dumps(result, indent=2, allow_nan=False) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="far fewer turns/calls: a ~1 minute smoke run")
    parser.add_argument("--only", default=None, help=f"comma-separated subset of {','.join(BENCHES)}")
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="results folder (default bench/results)"
    )
    args = parser.parse_args(argv)
    try:
        selected = parse_only(args.only)
    except ValueError as exc:
        parser.error(str(exc))  # exits 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)

    results: list[dict[str, Any]] = []
    crashed: dict[str, str] = {}
    skipped: dict[str, str] = {}
    for name in selected:
        try:
            module = load_bench(name)
        except MissingBench as exc:
            skipped[name] = str(exc)
            log.warning("skipping %s: %s", name, exc)
            continue
        except Exception:
            crashed[name] = traceback.format_exc()
            log.error("%s failed to load:\n%s", name, crashed[name])
            continue
        log.info("running %s%s", name, " (quick)" if args.quick else "")
        try:
            result = run_one(module, name, out, args.quick)
        except Exception:
            crashed[name] = traceback.format_exc()
            log.error("%s crashed:\n%s", name, crashed[name])
            continue
        write_json(out / f"{name}.json", result)
        results.append(result)
        for item in result["targets"]:
            log.info(
                "%s: %s %s (measured %s %s): %s",
                name,
                item["name"],
                item["target"],
                item["value"],
                item["unit"],
                "met" if item["met"] else "MISSED",
            )

    results += load_earlier(out, [n for n in BENCHES if n not in selected])
    results.sort(key=lambda r: BENCHES.index(r["name"]) if r["name"] in BENCHES else len(BENCHES))
    histogram = render_histogram(results, out / HISTOGRAM)
    summary = render_summary(
        results,
        machine_facts(),
        crashed=crashed,
        skipped=skipped,
        histogram=HISTOGRAM if histogram else None,
    )
    (out / SUMMARY).write_text(summary)
    log.info("wrote %s%s", out / SUMMARY, f" and {histogram}" if histogram else "")
    missed = sum(1 for r in results for t in r["targets"] if not t["met"])
    if missed:
        log.warning("%d target(s) missed: see %s", missed, out / SUMMARY)
    return 1 if crashed else 0


if __name__ == "__main__":
    raise SystemExit(main())
