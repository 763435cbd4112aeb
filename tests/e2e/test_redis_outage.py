"""Redis goes away in the middle of a call and comes back: the call carries on (the agent keeps answering), and
the conversation state reaches Redis once it is back."""

from __future__ import annotations

import asyncio

from apps.acs_simulator.caller_audio import Say, WaitForAgent
from apps.acs_simulator.server import AcsSimulator
from apps.backend.storage.embedded_redis import EmbeddedRedis
from apps.backend.storage.session_store import session_key
from tests.support import eventually, free_port, running_backend


async def test_a_redis_restart_mid_call_does_not_end_the_call(simulator: AcsSimulator) -> None:
    port = free_port()
    redis = EmbeddedRedis(port=port)
    await redis.start()
    try:
        async with running_backend(simulator, redis_url=redis.url) as backend:
            call = asyncio.create_task(
                simulator.place_call(
                    backend.url,
                    [
                        WaitForAgent(),
                        Say("What's my balance?"),
                        WaitForAgent(),
                        Say("Goodbye."),
                        WaitForAgent(),
                    ],
                    max_duration_s=60,
                )
            )
            call_id = await eventually(lambda: next(iter(backend.runtime.calls._live), None), timeout=15)
            transcripts = backend.runtime.transcripts

            async def agent_turns() -> int:
                transcript = await transcripts.get(call_id)
                return sum(1 for t in transcript.turns if t.speaker == "agent") if transcript else 0

            await eventually(agent_turns, timeout=20)  # greeted
            await redis.stop()  # Redis gone: the caller's next turn is answered all the same
            await eventually(lambda: _at_least(agent_turns, 2), timeout=30)
            assert backend.runtime.calls._live, "the call must still be up"
            sessions = backend.runtime.calls._sessions
            assert sessions is not None and sessions.pending >= 1  # the state waits in memory

            redis = EmbeddedRedis(port=port)
            await redis.start()
            result = await call
            assert result.hung_up_by == "caller"
            await eventually(lambda: sessions.pending == 0, timeout=20)
            assert await backend.runtime.redis.get(session_key(call_id)) is not None
            transcript = await transcripts.get(call_id)
            assert transcript is not None
            assert [t.speaker for t in transcript.turns].count("caller") == 2
    finally:
        await redis.stop()


async def _at_least(count, n: int) -> bool:  # type: ignore[no-untyped-def]
    return await count() >= n
