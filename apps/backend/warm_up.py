"""Warming the embedded providers for a registry: the recogniser's phrase model per scenario and the local
brain's tool-example embeddings per agent, built before a caller needs them rather than on their turn.

At start-up only what the first call needs is on the way to ready (`essentials`: the default scenario's
phrase model, which a cascade call opens before it greets, and the brain's encoder with the default start
agent's tools), side by side with the rest of start-up. Everything else (`rest_when_quiet`) is built after
ready, one piece at a time and only while no call is live, so it never takes CPU from a caller; a call
that needs a piece not built yet builds it itself (the models are shared and locked, never built twice).
A refresh prepares everything before the new registry goes live (`prepare`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from registries.snapshot import RegistrySnapshot
from registries.toolstore.decorator import ToolSpec
from voice.stt.phrases import scenario_phrases

log = logging.getLogger(__name__)

QUIET_POLL_S = 0.1
QUIET_S = 2.0


class PhraseModels(Protocol):
    """The recogniser side (`SpeechToText.prepare`)."""

    async def prepare(self, phrases: Sequence[str]) -> None: ...


class ToolEmbeddings(Protocol):
    """The brain side (`LocalBrain.warm_up`)."""

    async def warm_up(self, tool_sets: Iterable[Sequence[ToolSpec]] = ()) -> None: ...


@dataclass(frozen=True)
class WarmUpStep:
    kind: Literal["phrase model", "embeddings"]
    scenario: str
    agent: str | None
    run: Callable[[], Awaitable[None]]


class ProviderWarmUp:
    def __init__(self, stt: PhraseModels, brain: ToolEmbeddings | None, default_scenario: str) -> None:
        self._stt = stt
        self._brain = brain
        self._default = default_scenario

    def steps(self, snap: RegistrySnapshot) -> list[WarmUpStep]:
        """Every piece, the first call's essentials first (the default scenario's phrase model and start
        agent), then the default scenario's other agents, then the other scenarios."""
        found: list[WarmUpStep] = []
        for scenario in sorted(snap.scenarios, key=lambda name: name != self._default):
            found.append(WarmUpStep("phrase model", scenario, None, self._phrase_model(snap, scenario)))
            spec = snap.scenarios[scenario]
            agents = [spec.start_agent, *(a for a in spec.agents if a != spec.start_agent)]
            for agent in agents if self._brain is not None else ():
                found.append(
                    WarmUpStep("embeddings", scenario, agent, self._embeddings(snap, scenario, agent))
                )
        return found

    def essential(self, step: WarmUpStep, snap: RegistrySnapshot) -> bool:
        """Part of what the first call on the default scenario needs (recognition and its first turn)."""
        if step.scenario != self._default:
            return False
        return step.agent is None or step.agent == snap.scenarios[self._default].start_agent

    def _phrase_model(self, snap: RegistrySnapshot, scenario: str) -> Callable[[], Awaitable[None]]:
        return lambda: self._stt.prepare(scenario_phrases(snap, scenario))

    def _embeddings(self, snap: RegistrySnapshot, scenario: str, agent: str) -> Callable[[], Awaitable[None]]:
        brain = self._brain
        assert brain is not None
        return lambda: brain.warm_up([snap.tools_for(agent, scenario)])

    async def prepare(self, snap: RegistrySnapshot) -> None:
        """Everything, the recogniser's pieces and the brain's side by side (their own threads)."""
        await _side_by_side(self.steps(snap))

    async def essentials(self, snap: RegistrySnapshot) -> None:
        """What the first call on the default scenario needs; a failure is logged (calls build lazily)."""
        try:
            await _side_by_side([s for s in self.steps(snap) if self.essential(s, snap)])
        except Exception:
            log.exception("warming the default scenario failed; its first call will build what it needs")

    async def rest_when_quiet(
        self, snap: RegistrySnapshot, busy: Callable[[], bool], *, quiet_s: float = QUIET_S
    ) -> None:
        """Everything but the essentials, one piece at a time, each once `busy()` (a call is live) has been
        false for `quiet_s`: a call placed the moment the service is ready is live (its media connected)
        before any piece starts, so its greeting never shares the CPU with one."""
        for step in [s for s in self.steps(snap) if not self.essential(s, snap)]:
            await wait_quiet(busy, quiet_s)
            try:
                await step.run()
            except Exception:
                log.exception("warming up failed; calls will build what they need")
                return


async def _side_by_side(steps: list[WarmUpStep]) -> None:
    async def run(kind: str) -> None:
        for step in steps:
            if step.kind == kind:
                await step.run()

    await asyncio.gather(run("phrase model"), run("embeddings"))


async def wait_quiet(busy: Callable[[], bool], quiet_s: float) -> None:
    """Return once `busy()` has been false for `quiet_s` in a row (polled every QUIET_POLL_S)."""
    quiet_since: float | None = None
    loop = asyncio.get_running_loop()
    while quiet_since is None or loop.time() - quiet_since < quiet_s:
        if busy():
            quiet_since = None
        elif quiet_since is None:
            quiet_since = loop.time()
        await asyncio.sleep(QUIET_POLL_S)
