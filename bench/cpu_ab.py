"""A/B of the worker's CPU per frame between two trees, run alternately, with the run-to-run noise shown.

`python -m bench.cpu_ab --old /tmp/old --new . --calls 150 --rounds 4` runs `bench.cpu_cost` from each
tree's root in turn (old, new, old, new, ...; each tree's own code in its worker), then prints each tree's mean
and standard deviation of CPU us per inbound frame and the difference with its 95% interval (Welch). On a
shared VM one run of each differs by +-5% with the same code, so a change worth less than that needs several
rounds before it is told from noise; the interval says whether it was.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

# Two-sided 95% critical values of Student's t by degrees of freedom (beyond 30: the normal's 1.96).
_T95 = {1: 12.71, 2: 4.30, 3: 3.18, 4: 2.78, 5: 2.57, 6: 2.45, 7: 2.36, 8: 2.31, 9: 2.26, 10: 2.23}
_T95_MANY = 2.0


@dataclass(frozen=True)
class Difference:
    old_mean: float
    old_sd: float
    new_mean: float
    new_sd: float
    change: float
    """new - old"""
    half_width: float
    """of the 95% interval of `change`"""

    @property
    def told_from_noise(self) -> bool:
        return abs(self.change) > self.half_width


def compare(old: list[float], new: list[float]) -> Difference:
    """Welch's interval for the difference of two means (at least two runs a side)."""
    if len(old) < 2 or len(new) < 2:
        raise ValueError("an interval needs at least two runs of each tree")
    var_old, var_new = statistics.variance(old) / len(old), statistics.variance(new) / len(new)
    spread = var_old + var_new
    if spread == 0:
        dof = len(old) + len(new) - 2
    else:
        dof = round(spread**2 / (var_old**2 / (len(old) - 1) + var_new**2 / (len(new) - 1)))
    t = _T95.get(max(1, dof), _T95_MANY)
    return Difference(
        old_mean=statistics.fmean(old),
        old_sd=statistics.stdev(old),
        new_mean=statistics.fmean(new),
        new_sd=statistics.stdev(new),
        change=statistics.fmean(new) - statistics.fmean(old),
        half_width=t * math.sqrt(spread),
    )


def one_run(tree: Path, label: str, calls: int, hold_s: float, out: Path) -> float:
    """One `bench.cpu_cost` run from `tree`'s root; its CPU us per inbound frame."""
    command = [sys.executable, "-m", "bench.cpu_cost", "--calls", str(calls), "--hold", str(hold_s)]
    subprocess.run([*command, "--label", label, "--out", str(out)], cwd=tree, check=True)
    last = out.read_text().strip().splitlines()[-1]
    return float(json.loads(last)["cpu_us_per_frame"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cpu_ab", description=__doc__)
    parser.add_argument("--old", type=Path, required=True, help="root of the tree before the change")
    parser.add_argument("--new", type=Path, default=Path("."), help="root of the tree with it")
    parser.add_argument("--calls", type=int, default=150)
    parser.add_argument("--hold", type=float, default=30.0, help="seconds measured per run")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each tree, alternated")
    args = parser.parse_args(argv)
    if args.rounds < 2:
        parser.error("--rounds must be at least 2 (the noise is measured from the repeats)")
    runs: dict[str, list[float]] = {"old": [], "new": []}
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "runs.jsonl"
        for _ in range(args.rounds):
            for label, tree in (("old", args.old), ("new", args.new)):
                runs[label].append(one_run(tree.resolve(), label, args.calls, args.hold, out))
    result = compare(runs["old"], runs["new"])
    verdict = "a real change" if result.told_from_noise else "not told from noise"
    print(
        f"[cpu_ab] {args.calls} calls, {args.rounds} rounds: old {result.old_mean:.1f} +- {result.old_sd:.1f}, "
        f"new {result.new_mean:.1f} +- {result.new_sd:.1f} us/frame; new - old {result.change:+.1f} "
        f"(95% +- {result.half_width:.1f}): {verdict}"
    )
    print(json.dumps({"calls": args.calls, "runs": runs, "change_us_per_frame": round(result.change, 2)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
