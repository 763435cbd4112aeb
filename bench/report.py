"""Turn benchmark results into what people read: summary.md and latency_histogram.png.

Every benchmark module returns a dict in one shape (see bench/run.py): name, targets (name, target, value,
unit, met), optional key figures ({label: value}, e.g. capacity's two knees), an optional table (columns,
rows), optional notes, optional histograms ({label: [ms, ...]}) and
raw samples. Rendering is kept apart from running so it can be tested on a fake result without timing
anything.
"""

from __future__ import annotations

import math
import os
import platform
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.stats import percentile

ROOT = Path(__file__).resolve().parent.parent


class ResultShapeError(ValueError):
    """A benchmark returned something the report cannot render: a bug in that benchmark."""


def check_result(result: Any, name: str) -> None:
    """Raise ResultShapeError unless `result` follows the shared contract (so a bad bench fails loudly)."""
    if not isinstance(result, dict):
        raise ResultShapeError(f"{name}: run() returned {type(result).__name__}, not a dict")
    if result.get("name") != name:
        raise ResultShapeError(f"{name}: result name is {result.get('name')!r}")
    targets = result.get("targets")
    if not isinstance(targets, list):
        raise ResultShapeError(f"{name}: 'targets' must be a list")
    for item in targets:
        missing = {"name", "target", "value", "unit", "met"} - set(item if isinstance(item, dict) else ())
        if missing:
            raise ResultShapeError(f"{name}: target {item!r} lacks {sorted(missing)}")
        if not isinstance(item["met"], bool):
            raise ResultShapeError(f"{name}: target {item['name']!r} 'met' must be a bool")
    table = result.get("table")
    if table is not None:
        if not isinstance(table, dict) or not isinstance(table.get("columns"), list):
            raise ResultShapeError(f"{name}: 'table' needs 'columns' and 'rows' lists")
        if not all(isinstance(row, list | tuple) for row in table.get("rows", [])):
            raise ResultShapeError(f"{name}: every table row must be a list")
    notes = result.get("notes", [])
    if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
        raise ResultShapeError(f"{name}: 'notes' must be a list of strings")
    histograms = result.get("histograms", {})
    if not isinstance(histograms, dict):
        raise ResultShapeError(f"{name}: 'histograms' must map a label to a list of numbers")


def jsonable(value: Any) -> Any:
    """`value` with non-finite floats as None and paths/dates as text, so the JSON stays strict."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, Path | datetime):
        return str(value)
    return value


# ---- machine facts ---------------------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git_commit() -> str:
    """Short HEAD, plus a marker when the working tree differs from it (numbers then describe more)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head} (plus uncommitted changes)" if dirty else head


def machine_facts() -> dict[str, str]:
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "git commit": git_commit(),
        "CPU": cpu_model(),
        "cores": f"{os.cpu_count()} logical, {usable} usable by this process",
        "load average (1/5/15 min)": load,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


# ---- markdown --------------------------------------------------------------------------------------------


def cell(value: Any) -> str:
    """A Markdown table cell: numbers compact, None as a dash, pipes escaped."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "-"
        size = abs(value)
        if size >= 1000:
            return f"{value:.0f}"
        if size >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}" if size >= 0.1 or value == 0 else f"{value:.2g}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(columns: Sequence[Any], rows: Sequence[Sequence[Any]]) -> str:
    lines = [
        "| " + " | ".join(cell(c) for c in columns) + " |",
        "|" + "|".join("---" for _ in columns) + "|",
    ]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def targets_table(targets: Sequence[dict[str, Any]]) -> str:
    rows = [
        [
            t["name"],
            t["target"],
            f"{cell(t['value'])} {t['unit']}".strip(),
            "met" if t["met"] else "**MISSED**",
        ]
        for t in targets
    ]
    return markdown_table(["target", "goal", "measured", ""], rows)


def bench_section(result: dict[str, Any]) -> str:
    meta = result.get("meta", {})
    heading = f"## {result['name']}"
    if meta.get("earlier"):
        heading += f" (from an earlier run, {meta.get('started_at', 'date unknown')})"
    parts = [heading]
    if meta.get("duration_s") is not None:
        parts.append(f"{'Quick' if meta.get('quick') else 'Full'} run, {meta['duration_s']:.0f} s.")
    figures = result.get("key_figures")
    if isinstance(figures, dict) and figures:
        parts.append(markdown_table(["key figure", "value"], list(figures.items())))
    parts.append(targets_table(result["targets"]) if result["targets"] else "No targets.")
    table = result.get("table")
    if table and table.get("rows"):
        parts.append(markdown_table(table["columns"], table["rows"]))
    if result.get("notes"):
        parts.append("\n".join(f"- {note}" for note in result["notes"]))
    return "\n\n".join(p for p in parts if p)


def overall_line(results: Sequence[dict[str, Any]], crashed: dict[str, str]) -> str:
    targets = [(r["name"], t) for r in results for t in r["targets"]]
    missed = [f"{name}: {t['name']}" for name, t in targets if not t["met"]]
    status = (
        f"**All {len(targets)} targets met.**"
        if not missed
        else f"**{len(missed)} of {len(targets)} targets missed:** " + "; ".join(missed) + "."
    )
    if crashed:
        status += f" **Crashed: {', '.join(crashed)}.**"
    return status


def render_summary(
    results: Sequence[dict[str, Any]],
    facts: dict[str, str],
    *,
    crashed: dict[str, str] | None = None,
    skipped: dict[str, str] | None = None,
    histogram: str | None = None,
) -> str:
    """summary.md: machine facts, the overall verdict, then each benchmark's targets, table and notes."""
    crashed, skipped = crashed or {}, skipped or {}
    parts = [
        "# Switchboard benchmarks",
        markdown_table(["", ""], list(facts.items())),
        overall_line(results, crashed),
    ]
    if histogram:
        parts.append(f"Latency histograms: [{histogram}]({histogram})")
    parts += [bench_section(result) for result in results]
    for name, error in crashed.items():
        parts.append(f"## {name}: crashed\n\n```\n{error.strip()[-4000:]}\n```")
    if skipped:
        parts.append("## Not run\n\n" + "\n".join(f"- {name}: {why}" for name, why in skipped.items()))
    return "\n\n".join(parts) + "\n"


# ---- histogram -------------------------------------------------------------------------------------------


def histogram_series(results: Sequence[dict[str, Any]]) -> list[tuple[str, list[float]]]:
    """(label, values) of every histogram any benchmark asked for, in result order, empty ones dropped."""
    series = []
    for result in results:
        for label, values in (result.get("histograms") or {}).items():
            present = [float(v) for v in values if v is not None and math.isfinite(float(v))]
            if present:
                series.append((label, present))
    return series


def render_histogram(results: Sequence[dict[str, Any]], path: Path) -> Path | None:
    """One panel per series with p50/p95 lines; None (nothing written) when no benchmark has latencies."""
    series = histogram_series(results)
    if not series:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(len(series), 1, figsize=(9, 2.8 * len(series)), squeeze=False)
    for axis, (label, values) in zip(axes[:, 0], series, strict=True):
        axis.hist(values, bins=min(40, max(5, len(values) // 2)), color="#4c72b0", alpha=0.85)
        for q, style in ((50, "--"), (95, ":")):
            value = percentile(values, q)
            if value is not None:
                axis.axvline(value, color="#c44e52", linestyle=style, label=f"p{q} {value:.0f} ms")
        axis.set_title(f"{label} (n={len(values)})")
        axis.set_xlabel("ms")
        axis.set_ylabel("count")
        axis.legend(loc="upper right")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
