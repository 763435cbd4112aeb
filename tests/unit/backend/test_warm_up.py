"""Provider warm-up at start-up: only what the default scenario's first call needs before ready, everything
else afterwards and only while no call is live; a refresh prepares everything."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence

import pytest

from apps.backend.warm_up import ProviderWarmUp, wait_quiet
from registries.loader import RegistrySnapshot, load_registry
from registries.toolstore.decorator import ToolSpec
from voice.stt.phrases import scenario_phrases


class Recorder:
    """Both provider sides; remembers what was built, in order."""

    def __init__(self) -> None:
        self.built: list[tuple[str, object]] = []

    async def prepare(self, phrases: Sequence[str]) -> None:
        await asyncio.sleep(0)
        self.built.append(("phrases", tuple(phrases)))

    async def warm_up(self, tool_sets: Iterable[Sequence[ToolSpec]] = ()) -> None:
        await asyncio.sleep(0)
        for tools in tool_sets:
            self.built.append(("tools", tuple(t.name for t in tools)))


def _phrases(snap: RegistrySnapshot, scenario: str) -> tuple[str, object]:
    return ("phrases", tuple(scenario_phrases(snap, scenario)))


def _tools(snap: RegistrySnapshot, scenario: str, agent: str) -> tuple[str, object]:
    return ("tools", tuple(t.name for t in snap.tools_for(agent, scenario)))


def _everything(snap: RegistrySnapshot) -> set[tuple[str, object]]:
    return {
        *(_phrases(snap, s) for s in snap.scenarios),
        *(_tools(snap, s, a) for s, spec in snap.scenarios.items() for a in spec.agents),
    }


async def test_essentials_are_the_default_scenarios_phrase_model_and_start_agent() -> None:
    snap = load_registry()
    recorder = Recorder()
    warm = ProviderWarmUp(recorder, recorder, "insurance")

    await warm.essentials(snap)

    start = snap.scenarios["insurance"].start_agent
    assert sorted(recorder.built, key=str) == sorted(
        [_phrases(snap, "insurance"), _tools(snap, "insurance", start)], key=str
    )


async def test_the_rest_waits_while_a_call_is_live_and_skips_the_essentials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("apps.backend.warm_up.QUIET_POLL_S", 0.01)
    snap = load_registry()
    recorder = Recorder()
    warm = ProviderWarmUp(recorder, recorder, "banking")
    live = True

    rest = asyncio.create_task(warm.rest_when_quiet(snap, busy=lambda: live, quiet_s=0.1))
    await asyncio.sleep(0.05)
    assert recorder.built == []  # a call is live: nothing is built behind its back

    live = False
    await asyncio.sleep(0.05)
    assert recorder.built == []  # quiet, but not for long enough yet
    await asyncio.wait_for(rest, 5)
    essentials = {_phrases(snap, "banking"), _tools(snap, "banking", snap.scenarios["banking"].start_agent)}
    assert set(recorder.built) == _everything(snap) - essentials
    others = [a for a in snap.scenarios["banking"].agents if a != snap.scenarios["banking"].start_agent]
    assert recorder.built[0] == _tools(snap, "banking", others[0])  # the default scenario's agents first


async def test_a_refresh_prepares_everything_and_the_brain_is_optional() -> None:
    snap = load_registry()
    recorder = Recorder()
    await ProviderWarmUp(recorder, recorder, "banking").prepare(snap)
    assert set(recorder.built) == _everything(snap)

    stt_only = Recorder()
    await ProviderWarmUp(stt_only, None, "banking").prepare(snap)
    assert sorted(stt_only.built, key=str) == sorted((_phrases(snap, s) for s in snap.scenarios), key=str)


async def test_quiet_means_quiet_for_the_whole_period(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("apps.backend.warm_up.QUIET_POLL_S", 0.01)
    answers = iter([False, False, True, *([False] * 1000)])  # a call came and went: the clock restarts
    loop = asyncio.get_running_loop()
    started = loop.time()
    await asyncio.wait_for(wait_quiet(lambda: next(answers), 0.1), 5)
    assert loop.time() - started >= 0.1 + 0.02
