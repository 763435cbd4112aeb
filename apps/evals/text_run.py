"""`switchboard eval --text`: the same calls with the caller's words given as text, no audio.

Each call runs on the cascade's own brain/tool loop (`TurnThinker`) and `CallConversation`, with the real tools
against the embedded Redis and the demo data (re-seeded before every call), and is judged by the same judge.
What it measures is understanding alone, as if recognition and turn-taking were perfect: lines said without
waiting for the agent (`wait: false`, a pause mid-sentence) join the line before them into one turn, as a
perfect end of turn would hear them. It runs in seconds, so it is the loop to tune understanding in; the audio
run says what reaches callers.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from redis.asyncio import Redis

from apps.evals.judge import judge
from apps.evals.runner import CallRun, EvalRun
from apps.evals.scripts import CallScript, Suite
from registries.loader import load_registry
from registries.snapshot import RegistrySnapshot
from registries.toolstore.clock import BusinessClock
from registries.toolstore.demo.store import seed_demo_data
from voice.expectation import Expectation
from voice.llm.base import ChatModel, dtmf_message
from voice.llm.local_brain import IntentRouter, LocalBrain, get_shared_encoder
from voice.session.config import CallConfig
from voice.session.conversation import CallConversation
from voice.speech_cascade.records import ReplyState
from voice.speech_cascade.speaker import Utterance
from voice.speech_cascade.thinking import TurnThinker
from voice.transcript import CallOutcome, CallTranscript, Speaker, TranscriptTurn, TurnKind, utcnow

TEXT_VOICE = "text"
CALLER = "+14255550123"


class _QuietHost:
    """The thinker's host without a speaker or observers: nothing is ever still playing."""

    def speaker_busy(self, state: ReplyState) -> bool:
        return False

    async def agent_changed(self, previous: str, current: str, *, quiet: bool) -> None:
        return None

    async def committed(self, state: ReplyState) -> None:
        return None  # text turns are over when they are given: nothing starts early


def caller_turns(call: CallScript) -> list[tuple[str, str]]:
    """(kind, text) per caller turn as a perfect ear would hear them: lines said without waiting join the one
    before them."""
    turns: list[tuple[str, str]] = []
    for i, line in enumerate(call.turns):
        if line.dtmf is not None:
            turns.append(("dtmf", line.dtmf))
        elif turns and not line.wait and line.barge_in_ms is None and i > 0 and turns[-1][0] == "speech":
            turns[-1] = ("speech", f"{turns[-1][1]} {line.say}")
        else:
            turns.append(("speech", line.say or ""))
    return turns


class TextCall:
    """One scripted call, turn by turn, recorded as a transcript the judge reads."""

    def __init__(
        self,
        call_id: str,
        snapshot: RegistrySnapshot,
        scenario: str,
        llm: ChatModel,
        redis: Redis,
        clock: BusinessClock | None = None,
    ):
        self.call_id = call_id
        self.conv = CallConversation(
            call_id=call_id,
            caller=CALLER,
            snapshot=snapshot,
            scenario=snapshot.scenarios[scenario],
            agent=snapshot.start_agent(scenario),
            context={"caller_display_name": "Simulated Caller", "caller": CALLER},
            redis=redis,
            clock=clock or BusinessClock(),
        )
        self.config = CallConfig()
        self.thinker = TurnThinker(self.conv, llm, self.config, _QuietHost())
        self.turns: list[TranscriptTurn] = []
        self.ended: str | None = None
        self.expects: Expectation | None = None
        """What the agent's last reply asked for (the hint the cascade gives the recogniser)."""
        self.started_at = utcnow()

    def _record(
        self, speaker: Speaker, kind: TurnKind, text: str, agent: str, state: ReplyState | None = None
    ) -> None:
        now = utcnow()
        self.turns.append(
            TranscriptTurn(
                call_id=self.call_id,
                seq=len(self.turns),
                speaker=speaker,
                kind=kind,
                agent=agent,
                text=text,
                started_at=now,
                ended_at=now,
                tool_calls=tuple(state.tool_records) if state is not None else (),
            )
        )

    def greet(self) -> None:
        text = self.conv.greeting()
        self.conv.add_agent_text(text)
        self._record("agent", "greeting", text, self.conv.agent.name)

    async def say(self, kind: str, text: str) -> None:
        conv = self.conv
        message = dtmf_message(text) if kind == "dtmf" else text
        self._record("caller", "dtmf" if kind == "dtmf" else "speech", message, conv.agent.name)
        conv.add_caller_text(message)
        state = ReplyState(caller=None, agent=conv.agent.name, utterance=Utterance(sample_rate=16_000))
        try:
            await self.thinker.think(state)
        except Exception as exc:  # the cascade apologises; the failure's type is kept for whoever reads it
            self.expects = None
            self._record(
                "agent", "apology", f"{self.config.apology} [{type(exc).__name__}: {exc}]", state.agent
            )
            return
        self.expects = state.expects
        said = state.utterance.text
        if state.kind in ("reply", "greeting"):
            conv.add_agent_text(said, agent=state.agent)
        if said or state.tool_records:
            self._record("agent", state.kind, said, state.agent, state)
        for action, reason in state.after:
            self.ended = f"{action}: {reason}"

    def transcript(self) -> CallTranscript:
        now = utcnow()
        return CallTranscript(
            call_id=self.call_id,
            caller=CALLER,
            scenario=self.conv.scenario.name,
            started_at=self.started_at,
            turns=self.turns,
            outcome=CallOutcome(
                reason=self.ended or "caller hung up",
                ended_at=now,
                agents_visited=tuple(self.conv.visited),
                tools_called=tuple(self.conv.tools_called),
            ),
        )


async def run_text_call(
    suite: Suite, call: CallScript, snapshot: RegistrySnapshot, llm: ChatModel, redis: Redis
) -> CallRun:
    started = time.monotonic()
    await seed_demo_data(redis, overwrite=True)
    clock = BusinessClock(pinned=suite.placed_on)  # the day the suite's calls are written for
    text_call = TextCall(f"text-{suite.suite}-{call.id}", snapshot, suite.scenario, llm, redis, clock)
    text_call.greet()
    for kind, text in caller_turns(call):
        if text_call.ended is not None:
            break
        await text_call.say(kind, text)
    transcript = text_call.transcript()
    verdict = judge(call, transcript)
    return CallRun(
        suite.suite,
        suite.scenario,
        call,
        TEXT_VOICE,
        verdict,
        time.monotonic() - started,
        call_id=text_call.call_id,
        transcript=transcript,
    )


async def run_text_suites(
    suites: list[Suite],
    *,
    only: Callable[[CallScript], bool] = lambda _: True,
    progress: Callable[[CallRun, int, int], None] = lambda *_: None,
    llm: ChatModel | None = None,
) -> EvalRun:
    """Every selected call once, as text, against an embedded Redis started for the run. `llm` defaults to the
    local brain; `configured_brain()` gives the chain the settings configure (Azure OpenAI first)."""
    from apps.backend.storage.embedded_redis import EmbeddedRedis

    snapshot = load_registry()
    llm = llm or LocalBrain(IntentRouter(get_shared_encoder()))
    jobs = [(suite, call) for suite in suites for call in suite.calls if only(call)]
    result = EvalRun(concurrency=1)
    started = time.monotonic()
    server = EmbeddedRedis()
    await server.start()
    redis = Redis.from_url(server.url)
    try:
        for done, (suite, call) in enumerate(jobs, 1):
            run = await run_text_call(suite, call, snapshot, llm, redis)
            result.runs.append(run)
            progress(run, done, len(jobs))
    finally:
        await redis.aclose()
        await server.stop()
    result.seconds = time.monotonic() - started
    return result


@asynccontextmanager
async def configured_brain() -> AsyncIterator[ChatModel]:
    """The brain a call gets from the environment's settings: Azure OpenAI when configured (with the local
    brain behind it), else the local brain alone."""
    from apps.backend.providers import build_providers
    from apps.backend.settings import Settings

    providers = build_providers(Settings(_env_file=None))
    try:
        yield providers.cascade.llm
    finally:
        for close in providers.closers:
            await close()
