"""Running eval suites: an embedded backend and the ACS simulator on loopback, each scripted call placed through
the simulator (caller audio pre-rendered per voice), judged from the stored transcript. A few calls run at once.
"""

from __future__ import annotations

import asyncio
import socket
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import yaml
from redis.asyncio import Redis

from apps.acs_simulator.caller_audio import (
    CallerStep,
    Pause,
    PlayWav,
    SendDtmf,
    WaitForAgent,
    WaitForAgentStart,
)
from apps.acs_simulator.inbound import CallSimulationError
from apps.acs_simulator.server import AcsSimulator
from apps.evals.judge import Verdict, judge
from apps.evals.scripts import CallScript, Suite
from apps.evals.voices import CallerVoices, check_voice
from registries.toolstore.demo.store import seed_demo_data
from voice.transcript import CallTranscript

ADMIN_KEY = "eval-admin-key"
HUMAN_QUEUE = "+18005550199"


@dataclass
class CallRun:
    suite: str
    scenario: str
    call: CallScript
    voice: str
    verdict: Verdict
    seconds: float
    call_id: str = ""
    transcript: CallTranscript | None = None

    @property
    def name(self) -> str:
        return f"{self.suite}/{self.call.id}@{self.voice}"


@dataclass
class EvalRun:
    runs: list[CallRun] = field(default_factory=list)
    seconds: float = 0.0
    concurrency: int = 1


Job = tuple[Suite, CallScript, str]  # a call in one caller voice


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def embedded_backend(simulator: AcsSimulator, **overrides: Any) -> AsyncIterator[str]:
    """The backend on embedded defaults, wired to `simulator`; yields its base URL."""
    from apps.acs_simulator.serving import ServedApp
    from apps.backend.app import create_app
    from apps.backend.settings import Settings

    port = _free_port()
    values: dict[str, Any] = {
        "_env_file": None,
        "host": "127.0.0.1",
        "port": port,
        "acs_connection_string": simulator.connection_string,
        "acs_jwks_url": simulator.jwks_url,
        "acs_jwt_issuer": simulator.issuer,
        "acs_resource_id": simulator.resource_id,
        "event_grid_secret": simulator.event_grid_secret,
        "admin_api_key": ADMIN_KEY,
        "media_token_secret": "eval-media-token-secret-0123456789abcdef",
        "transcripts_db": Path(tempfile.mkdtemp(prefix="sb-eval-")) / "transcripts.sqlite3",
        "redact_transcripts": False,  # the judge compares tool arguments; nothing here leaves the machine
        "transfer_target_number": HUMAN_QUEUE,
        "idle_reprompt_seconds": 30,
        "idle_hang_up_seconds": 60,
        "log_level": "WARNING",
        **overrides,
    }
    served = ServedApp(create_app(Settings(**values)), port=port, lifespan="on")
    await served.start(timeout_s=60)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await served.stop()


def build_steps(call: CallScript, audio: dict[str, Path]) -> list[CallerStep]:
    """The simulator script: wait for the greeting, then each turn (wait or barge in, pause, speak or key)."""
    steps: list[CallerStep] = []
    for i, turn in enumerate(call.turns):
        if turn.barge_in_ms is not None:
            steps.append(WaitForAgentStart(after_ms=turn.barge_in_ms))
        elif turn.wait or i == 0:
            steps.append(WaitForAgent(start_timeout_s=8.0, timeout_s=45.0))
        if turn.pause:
            steps.append(Pause(turn.pause))
        steps.append(PlayWav(audio[turn.say]) if turn.say is not None else SendDtmf(turn.dtmf or ""))
    steps.append(WaitForAgent(start_timeout_s=8.0, timeout_s=45.0))
    return steps


async def fetch_transcript(backend_url: str, call_id: str, timeout_s: float = 20.0) -> CallTranscript | None:
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(base_url=backend_url, headers={"x-api-key": ADMIN_KEY}, timeout=10) as http:
        while time.monotonic() < deadline:
            response = await http.get(f"/api/v1/calls/{call_id}/transcript")
            if response.status_code == 200:
                transcript = CallTranscript.model_validate(response.json())
                if transcript.outcome is not None:
                    return transcript
            await asyncio.sleep(0.2)
    return None


SCENARIOS_DIR = Path(__file__).resolve().parents[2] / "registries" / "scenariostore" / "scenarios"


def scenario_numbers(directory: Path = SCENARIOS_DIR) -> dict[str, str]:
    """Scenario name -> the first phone number it answers (read from the shipped scenario YAML)."""
    numbers: dict[str, str] = {}
    for path in sorted(directory.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if isinstance(doc, dict) and doc.get("phone_numbers"):
            numbers[str(doc.get("name", path.stem))] = str(doc["phone_numbers"][0])
    return numbers


async def run_suites(
    suites: list[Suite],
    *,
    voices: list[str] | None = None,
    concurrency: int = 2,
    cache_dir: Path = Path("var/evals/audio"),
    backend_url: str | None = None,
    only: Callable[[CallScript], bool] = lambda _: True,
    progress: Callable[[CallRun, int, int], None] = lambda *_: None,
) -> EvalRun:
    """Run every call of `suites` once per voice (the `voices` given, else each call's or suite's own)."""
    numbers = scenario_numbers()
    jobs: list[Job] = []
    for suite in suites:
        if suite.scenario not in numbers:
            raise ValueError(
                f"suite {suite.suite}: unknown scenario {suite.scenario!r} (known: {sorted(numbers)})"
            )
        for call in suite.calls:
            if only(call):
                jobs += [(suite, call, v) for v in (voices or call.voices or suite.voices)]
    renderer = CallerVoices(cache_dir)
    audio: dict[tuple[str, str], Path] = {}
    for name in sorted({v for _, _, v in jobs}):
        voice = check_voice(name)
        texts = sorted({t.say for _, c, v in jobs if v == name for t in c.turns if t.say is not None})
        for text, path in (await renderer.render_all(voice, texts)).items():
            audio[(name, text)] = path
    started = time.monotonic()
    result = EvalRun(concurrency=concurrency)
    width = max(1, concurrency)
    done = 0
    # One backend per day the suites are placed on, its business date pinned to it (all suites so far share one).
    by_day: dict[date, list[Job]] = {}
    for job in jobs:
        by_day.setdefault(job[0].placed_on, []).append(job)
    async with AcsSimulator(port=0) as simulator:
        for day, day_jobs in sorted(by_day.items()):
            async with _backend(simulator, backend_url, day) as (url, redis):

                async def one(suite: Suite, call: CallScript, voice: str, url: str = url) -> None:
                    nonlocal done
                    lines = {t.say: audio[(voice, t.say)] for t in call.turns if t.say is not None}
                    run = await run_call(simulator, url, suite, call, voice, lines, numbers[suite.scenario])
                    result.runs.append(run)
                    done += 1
                    progress(run, done, len(jobs))

                # In waves of `concurrency` calls, the demo data written afresh before each wave (as text mode
                # does before each call): a transfer or a filed claim of one call never shows in a later call's
                # answers. Each wave mixes scenarios where it can, so its calls do not share customers either.
                ordered = waves(day_jobs, width)
                for start in range(0, len(ordered), width):
                    if redis is not None:
                        await seed_demo_data(redis, overwrite=True)
                    await asyncio.gather(*(one(*job) for job in ordered[start : start + width]))
    result.seconds = time.monotonic() - started
    order = {(s.suite, c.id, v): i for i, (s, c, v) in enumerate(jobs)}
    result.runs.sort(key=lambda r: order[(r.suite, r.call.id, r.voice)])
    return result


def waves(jobs: list[Job], width: int) -> list[Job]:
    """`jobs` reordered so that each run of `width` consecutive jobs mixes scenarios as far as it can (calls of
    one scenario share the demo customers; calls of two do not)."""
    by_scenario: dict[str, list[Job]] = {}
    for job in jobs:
        by_scenario.setdefault(job[0].scenario, []).append(job)
    queues = list(by_scenario.values())
    ordered: list[Job] = []
    while any(queues):
        for queue in sorted((q for q in queues if q), key=len, reverse=True)[:width]:
            ordered.append(queue.pop(0))
    return ordered


@asynccontextmanager
async def _backend(
    simulator: AcsSimulator, url: str | None, day: date
) -> AsyncIterator[tuple[str, Redis | None]]:
    """The backend to call, and its Redis when it is ours (the demo data is re-seeded between waves, "today" is
    pinned to `day`); a backend given by URL keeps its data and its own date (its BUSINESS_DATE)."""
    if url is not None:
        yield url, None
        return
    from apps.backend.storage.embedded_redis import EmbeddedRedis

    server = EmbeddedRedis()
    await server.start()
    redis = Redis.from_url(server.url)
    try:
        async with embedded_backend(simulator, redis_url=server.url, business_date=day) as embedded:
            yield embedded, redis
    finally:
        await redis.aclose()
        await server.stop()


async def run_call(
    simulator: AcsSimulator,
    backend_url: str,
    suite: Suite,
    call: CallScript,
    voice: str,
    lines: dict[str, Path],
    to_number: str,
) -> CallRun:
    started = time.monotonic()
    steps = build_steps(call, lines)
    try:
        result = await simulator.place_call(
            backend_url,
            steps,
            to_number=to_number,
            max_duration_s=call.max_seconds,
            hang_up_after_silence_s=1.5,
        )
    except CallSimulationError as exc:
        verdict = Verdict(passed=False, failures=[f"call not placed: {exc}"], failure_class="infrastructure")
        return CallRun(suite.suite, suite.scenario, call, voice, verdict, time.monotonic() - started)
    problems = [f"call: {p}" for p in result.failures()]
    transcript = await fetch_transcript(backend_url, result.call_connection_id)
    verdict = judge(call, transcript, problems)
    return CallRun(
        suite.suite,
        suite.scenario,
        call,
        voice,
        verdict,
        time.monotonic() - started,
        call_id=result.call_connection_id,
        transcript=transcript,
    )
