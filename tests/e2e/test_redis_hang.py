"""Redis hangs (the embedded valkey is frozen with SIGSTOP) in the middle of a call: the caller must not notice.

Nothing on a call's audio or turn path waits on Redis: the call record is written behind the call, so a
handoff is heard as quickly as ever and key presses do not stall the media loop. Once Redis thaws, the record
events that waited land in order. The time bounds below are generous functional bounds on a stall of the
Redis socket timeout (seconds per write), not performance targets.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator, Iterator

from apps.acs_simulator import timeline as tl
from apps.acs_simulator.call import SimulatedCall
from apps.acs_simulator.caller_audio import CallerStep, Pause, Say, SendDtmf, WaitForAgent
from apps.acs_simulator.server import AcsSimulator
from apps.backend.storage.call_store import CallRecord
from tests.support import Backend, eventually, running_backend

BANKING = "+18005550100"
HANDOFF_HEARD_WITHIN_MS = 4000  # a frozen Redis used to cost a 5 s socket timeout per queued record write


@contextlib.contextmanager
def frozen(pid: int) -> Iterator[None]:
    """SIGSTOP the process; SIGCONT it on the way out whatever happens."""
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


@contextlib.asynccontextmanager
async def call_in_progress(
    simulator: AcsSimulator, backend: Backend, script: list[CallerStep]
) -> AsyncIterator[tuple[SimulatedCall, str]]:
    """The simulator's side of a running call and our call id, once its greeting has been heard."""
    task = asyncio.create_task(
        simulator.place_call(backend.url, script, to_number=BANKING, max_duration_s=60)
    )
    try:
        sim_call: SimulatedCall = await eventually(
            lambda: next(iter(simulator.calls.values()), None), timeout=15
        )
        call_id = await eventually(lambda: next(iter(backend.runtime.calls._live), None), timeout=15)
        await eventually(lambda: sim_call.timeline.first(tl.AGENT_AUDIO_STOP), timeout=20)  # greeted
        yield sim_call, call_id
        await task
    finally:
        task.cancel()
        with contextlib.suppress(BaseException):
            await task


def agent_audio_after(sim_call: SimulatedCall, t_ms: float) -> tl.TimelineEvent | None:
    return next((e for e in sim_call.timeline.of(tl.AGENT_AUDIO_START) if e.t_ms > t_ms), None)


async def record_events(backend: Backend, call_id: str, kind: str) -> list[str]:
    record: CallRecord = await backend.runtime.calls.store.get(call_id)
    return [e.detail or "" for e in record.events if e.type == kind]


async def test_a_handoff_is_heard_promptly_while_redis_is_frozen(simulator: AcsSimulator) -> None:
    script: list[CallerStep] = [
        WaitForAgent(),
        Pause(2.5),
        Say("I lost my debit card."),
        WaitForAgent(),
        Pause(3.0),
    ]
    async with running_backend(simulator) as backend:
        valkey = backend.runtime.embedded_redis
        assert valkey is not None and valkey.pid is not None
        async with call_in_progress(simulator, backend, script) as (sim_call, call_id):
            with frozen(valkey.pid):
                said = await eventually(lambda: sim_call.timeline.first(tl.CALLER_SPEECH_END), timeout=20)
                answer = await eventually(lambda: agent_audio_after(sim_call, said.t_ms), timeout=30)
                assert answer.t_ms - said.t_ms < HANDOFF_HEARD_WITHIN_MS, sim_call.timeline.format_table()
                assert backend.runtime.calls._live, "the call must still be up"
            # Thawed: the handoff waited in the call's record queue and now lands.
            changed = await eventually(lambda: record_events(backend, call_id, "agent_changed"), timeout=15)
            assert changed == ["concierge -> card_services"]
        transcript = await backend.runtime.transcripts.get(call_id)
        assert transcript is not None
        assert any(t.agent == "card_services" and t.text for t in transcript.turns)


async def test_key_presses_do_not_stall_the_media_loop_while_redis_is_frozen(
    simulator: AcsSimulator,
) -> None:
    script: list[CallerStep] = [
        WaitForAgent(),
        Pause(2.0),
        SendDtmf("##"),
        Pause(4.0),
        Say("I lost my debit card."),
    ]
    script += [WaitForAgent(), Pause(2.0)]
    async with running_backend(simulator) as backend:
        valkey = backend.runtime.embedded_redis
        assert valkey is not None and valkey.pid is not None
        frames = backend.runtime.observability.metrics.frames_in.counts
        async with call_in_progress(simulator, backend, script) as (sim_call, call_id):
            with frozen(valkey.pid):
                await eventually(lambda: len(sim_call.timeline.of(tl.DTMF_SENT)) == 2, timeout=20)
                # '#' with nothing keyed asks nothing of the agent, but every tone went through the listener.
                handled = frames["ok"]
                await eventually(lambda: frames["ok"] >= handled + 50, timeout=4.0)  # 1 s of audio, live
                said = await eventually(lambda: sim_call.timeline.first(tl.CALLER_SPEECH_END), timeout=20)
                answer = await eventually(lambda: agent_audio_after(sim_call, said.t_ms), timeout=30)
                assert answer.t_ms - said.t_ms < HANDOFF_HEARD_WITHIN_MS, sim_call.timeline.format_table()
            keyed = await eventually(lambda: record_events(backend, call_id, "dtmf"), timeout=15)
            assert len(keyed) == 2
