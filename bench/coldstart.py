"""Benchmark: cold start to ready, RSS at idle, and what the first call after a cold start gets.

Each run starts the real `switchboard serve` (`python -m apps.backend.cli serve`, so the pre-flight checks
count) on embedded defaults: embedded Redis, Silero VAD, pocketsphinx, the local brain, espeak-ng; only the
ACS settings point at an in-process ACS simulator, and the state files go to a scratch folder. Measured:

- ready: process start -> first 200 from `GET /api/v1/readiness` (polled every 10 ms), split with the
  service's own log into imports (process start -> "Waiting for application startup") and start-up (the
  lifespan: Redis, registry, models, ...), and the CPU seconds the process had used by then;
- the first call, placed the moment the service is ready: the greeting (call placed -> first agent audio)
  and the response to the caller's first turn (caller's last voiced frame -> agent audio), then the same
  call again once warm, to show whether the warm-ups left on the way cost the first caller anything;
- RSS at idle after those calls (the service, and apart from it its embedded valkey-server and its
  registry load worker).

    python -m bench.run --only coldstart [--quick]
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import psutil

from apps.acs_simulator import timeline as tl
from apps.acs_simulator.caller_audio import CallerStep, PlayWav, WaitForAgent
from apps.acs_simulator.server import AcsSimulator
from bench.latency import client_turns
from bench.phrases import Phrase, make_phrase
from bench.stats import summarize, summary_row, target
from bench.worker import ADMIN_KEY, MEDIA_SECRET, ROOT
from tests.support import free_port

NAME = "coldstart"
TARGET_READY_S = 3.0
TARGET_FIRST_CALL_EXTRA_MS = 100.0
FULL_RUNS, QUICK_RUNS = 5, 2
BANKING = "+18005550100"
QUESTION = "What's my checking balance?"
POLL_S = 0.01
READY_TIMEOUT_S = 90.0
IDLE_SETTLE_S = 10.0  # after the calls: the warm-up left for after ready (2 s of quiet, then ~3 s) is done

log = logging.getLogger(__name__)


@dataclass
class CallSample:
    greeting_ms: float | None  # call placed -> first agent audio
    response_ms: float | None  # caller's last voiced frame -> the reply's first audio
    problems: list[str] = field(default_factory=list)


@dataclass
class ColdStart:
    ready_s: float
    imports_s: float | None  # process start -> the app's lifespan begins (interpreter, imports, pre-flight)
    startup_s: float | None  # the lifespan: "Waiting for application startup" -> "startup complete"
    cpu_s_at_ready: float
    rss_mb_at_ready: float
    rss_mb_idle: float | None = None
    children_mb_idle: dict[str, float] = field(default_factory=dict)
    first_call: CallSample | None = None
    warm_call: CallSample | None = None


def log_phases(log_text: str, started_epoch: float) -> tuple[float | None, float | None]:
    """(imports, start-up) seconds from the service's JSON log lines; None where a line is missing."""
    stamps: dict[str, float] = {}
    for line in log_text.splitlines():
        with contextlib.suppress(ValueError, KeyError, TypeError):
            entry = json.loads(line)
            message = str(entry["msg"])
            for key in ("Waiting for application startup", "Application startup complete"):
                if message.startswith(key) and key not in stamps:
                    stamps[key] = datetime.fromisoformat(entry["ts"]).timestamp()
    begin = stamps.get("Waiting for application startup")
    end = stamps.get("Application startup complete")
    imports = None if begin is None else round(begin - started_epoch, 3)
    startup = None if begin is None or end is None else round(end - begin, 3)
    return imports, startup


def service_env(simulator: AcsSimulator, port: int, scratch: Path) -> dict[str, str]:
    """Embedded defaults, but ACS is the in-process simulator and the state files live in `scratch`."""
    env = {
        **os.environ,
        "PORT": str(port),
        "ACS_CONNECTION_STRING": simulator.connection_string,
        "ACS_JWKS_URL": simulator.jwks_url,
        "ACS_JWT_ISSUER": simulator.issuer,
        "ACS_RESOURCE_ID": simulator.resource_id,
        "EVENT_GRID_SECRET": simulator.event_grid_secret or "",
        "ADMIN_API_KEY": ADMIN_KEY,
        "MEDIA_TOKEN_SECRET": MEDIA_SECRET,
        "TRANSCRIPTS_DB": str(scratch / "transcripts.sqlite3"),
        "TRANSCRIPT_SPOOL_PATH": str(scratch / "spool.db"),
        "RECORDINGS_DIR": str(scratch / "recordings"),
        "LOG_LEVEL": "INFO",
        "LOG_FORMAT": "json",
    }
    env.pop("REDIS_URL", None)
    return env


async def wait_ready(url: str, process: asyncio.subprocess.Process, started: float) -> float:
    """Seconds from `started` (perf_counter) to the first 200 from the readiness probe."""
    deadline = started + READY_TIMEOUT_S
    async with httpx.AsyncClient(timeout=2.0) as http:
        while time.perf_counter() < deadline:
            if process.returncode is not None:
                raise RuntimeError(f"service exited ({process.returncode}) before it was ready")
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(f"{url}/api/v1/readiness")).status_code == 200:
                    return time.perf_counter() - started
            await asyncio.sleep(POLL_S)
    raise RuntimeError(f"service not ready after {READY_TIMEOUT_S}s")


async def place_call(simulator: AcsSimulator, url: str, question: Phrase) -> CallSample:
    script: list[CallerStep] = [
        WaitForAgent(start_timeout_s=20.0),
        PlayWav(question.path),
        WaitForAgent(start_timeout_s=20.0),
    ]
    result = await simulator.place_call(url, script, to_number=BANKING, max_duration_s=90)
    events = result.timeline.events
    placed = next((e.t_ms for e in events if e.kind == tl.CALL_PLACED), 0.0)
    greeting = next((e.t_ms for e in events if e.kind == tl.AGENT_AUDIO_START), None)
    turns = client_turns(events)
    problems = [f"script error: {result.script_error}"] if result.script_error else []
    if not turns or turns[0].response_ms is None:
        problems.append("the first turn got no reply")
    return CallSample(
        greeting_ms=None if greeting is None else round(greeting - placed, 1),
        response_ms=None if not turns or turns[0].response_ms is None else round(turns[0].response_ms, 1),
        problems=problems,
    )


def memory(pid: int) -> tuple[float, dict[str, float]]:
    """RSS MB of the process, and of each child by name (valkey-server, the registry load worker)."""
    process = psutil.Process(pid)
    children: dict[str, float] = {}
    for child in process.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            name = "registry load worker" if "registries.load_worker" in child.cmdline() else child.name()
            children[name] = round(children.get(name, 0.0) + child.memory_info().rss / 1e6, 1)
    return round(process.memory_info().rss / 1e6, 1), children


async def one_run(simulator: AcsSimulator, question: Phrase) -> ColdStart:
    with tempfile.TemporaryDirectory(prefix="sb-bench-coldstart-") as scratch:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log_path = Path(scratch) / "service.log"
        with log_path.open("wb") as log_file:
            started_epoch, started = time.time(), time.perf_counter()
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "apps.backend.cli",
                "serve",
                cwd=ROOT,
                env=service_env(simulator, port, Path(scratch)),
                stdout=log_file,
                stderr=asyncio.subprocess.STDOUT,
            )
        try:
            ready_s = await wait_ready(url, process, started)
            times = psutil.Process(process.pid).cpu_times()
            rss_ready, _ = memory(process.pid)
            first = await place_call(simulator, url, question)
            warm = await place_call(simulator, url, question)
            await asyncio.sleep(IDLE_SETTLE_S)
            rss_idle, children = memory(process.pid)
        finally:
            if process.returncode is None:
                process.terminate()
                try:
                    await asyncio.wait_for(process.wait(), 20)
                except TimeoutError:
                    process.kill()
                    await process.wait()
        imports_s, startup_s = log_phases(log_path.read_text(errors="replace"), started_epoch)
    return ColdStart(
        ready_s=round(ready_s, 3),
        imports_s=imports_s,
        startup_s=startup_s,
        cpu_s_at_ready=round(times.user + times.system, 2),
        rss_mb_at_ready=rss_ready,
        rss_mb_idle=rss_idle,
        children_mb_idle=children,
        first_call=first,
        warm_call=warm,
    )


def _extra(run: ColdStart) -> float | None:
    first, warm = run.first_call, run.warm_call
    if first is None or warm is None or first.response_ms is None or warm.response_ms is None:
        return None
    return first.response_ms - warm.response_ms


def build_result(runs: list[ColdStart], quick: bool) -> dict[str, Any]:
    ready = summarize(r.ready_s for r in runs)
    extra = summarize(_extra(r) for r in runs)
    rows = [
        [
            index + 1,
            r.ready_s,
            r.imports_s,
            r.startup_s,
            r.cpu_s_at_ready,
            r.rss_mb_idle,
            ", ".join(f"{k} {v}" for k, v in sorted(r.children_mb_idle.items())) or "-",
            r.first_call.greeting_ms if r.first_call else None,
            r.warm_call.greeting_ms if r.warm_call else None,
            r.first_call.response_ms if r.first_call else None,
            r.warm_call.response_ms if r.warm_call else None,
        ]
        for index, r in enumerate(runs)
    ]
    summary_rows = [
        summary_row(["ready s"], ready),
        summary_row(["RSS MB at idle (service)"], summarize(r.rss_mb_idle for r in runs)),
        summary_row(
            ["first call response - warm call's, ms"],
            extra,
        ),
    ]
    problems = [
        f"run {i + 1} {which}: {p}"
        for i, r in enumerate(runs)
        for which, call in (("first call", r.first_call), ("warm call", r.warm_call))
        if call is not None
        for p in call.problems
    ]
    return {
        "name": NAME,
        "targets": [
            target(
                "cold start: process start -> /api/v1/readiness 200 (median of runs)",
                ready["p50"],
                TARGET_READY_S,
                "s",
                stat="p50",
            ),
            target(
                "first call after a cold start: its first response minus a warm call's (median of runs)",
                extra["p50"],
                TARGET_FIRST_CALL_EXTRA_MS,
                "ms",
                stat="p50",
            ),
        ],
        "table": {
            "columns": [
                "run",
                "ready s",
                "imports s",
                "start-up s",
                "CPU s at ready",
                "RSS MB idle",
                "children RSS MB idle",
                "greeting ms (first call)",
                "greeting ms (warm)",
                "response ms (first call)",
                "response ms (warm)",
            ],
            "rows": rows,
        },
        "notes": [
            f"{len(runs)} cold starts ({'quick run' if quick else 'full run'}) of `python -m apps.backend.cli "
            "serve` on embedded defaults (embedded Redis, Silero VAD, pocketsphinx, local brain, espeak-ng); "
            "ACS is an in-process simulator.",
            "ready = process start -> first 200 from GET /api/v1/readiness (polled every 10 ms); imports = "
            "process start -> the lifespan starts (interpreter, imports, pre-flight checks); start-up = the "
            "lifespan (from the service's log); CPU s = user + system CPU the service had used when ready.",
            f"ready s: p50 {ready['p50']}, max {ready['max']}; the first call is placed the moment the service "
            "is ready, then the same call again (warm): greeting = call placed -> first agent audio, response "
            f"= the caller's last voiced frame of {QUESTION!r} -> the reply's first audio.",
            f"RSS at idle: after those two calls and a {IDLE_SETTLE_S:g} s pause (the rest of the warm-up done); children (valkey-server, the registry load "
            "worker process) apart.",
            *("summary: " + ", ".join(f"{row[0]} p50 {row[2]} max {row[5]}" for row in summary_rows),),
            *problems,
        ],
        "runs": [asdict(r) for r in runs],
        "ready_s": ready,
        "first_call_extra_ms": extra,
    }


async def run(out_dir: Path, *, quick: bool) -> dict[str, Any]:
    runs: list[ColdStart] = []
    with tempfile.TemporaryDirectory(prefix="sb-bench-coldstart-phrases-") as scratch:
        question = await make_phrase(QUESTION, Path(scratch), name="question")
        async with AcsSimulator(port=free_port()) as simulator:
            for index in range(QUICK_RUNS if quick else FULL_RUNS):
                log.info("coldstart: run %d", index + 1)
                runs.append(await one_run(simulator, question))
    return build_result(runs, quick)
