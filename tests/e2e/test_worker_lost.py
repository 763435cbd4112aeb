"""A worker killed outright (SIGKILL) while the agent speaks a reply writes no outcome, and its embedded Redis dies
with it. Started again on the same data, it closes the call it left open: the transcript keeps its turns, the
reply being spoken (from its draft) as a cut-short agent turn, and the outcome "worker lost"; the call record is
made again in the new Redis, ended with the same reason."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sqlite3
from pathlib import Path

import httpx

from apps.acs_simulator.caller_audio import Pause, Say, WaitForAgent, WaitForAgentStart
from apps.acs_simulator.server import AcsSimulator
from apps.backend.storage.sqlite_transcripts import SqliteTranscriptStore
from tests.e2e.calls import BANKING
from tests.e2e.serve_process import serve_env, start_serve, stop_serve, wait_ready
from tests.support import ADMIN_KEY, eventually, free_port
from voice.transcript import TranscriptTurn

IDENTITY = "My name is Jordan Rivera and the last four of my account are four eight two one."
LONG_REPLY_TOOL = "get_recent_transactions"  # three transactions read out: seconds of agent audio

OPEN_CALLS_WITH_TURNS = (
    "SELECT call_id FROM calls WHERE outcome IS NULL"
    " AND EXISTS (SELECT 1 FROM turns WHERE turns.call_id = calls.call_id)"
)


def _open_calls_with_turns(db: Path) -> list[str]:
    if not db.exists():
        return []
    with contextlib.closing(sqlite3.connect(db)) as conn:
        try:
            return [call_id for (call_id,) in conn.execute(OPEN_CALLS_WITH_TURNS)]
        except sqlite3.OperationalError:  # the schema is not there yet
            return []


def _drafts_calling(db: Path, tool: str) -> list[TranscriptTurn]:
    """The replies in progress (drafts) that ran `tool`."""
    if not db.exists():
        return []
    with contextlib.closing(sqlite3.connect(db)) as conn:
        try:
            rows = conn.execute("SELECT doc FROM drafts").fetchall()
        except sqlite3.OperationalError:  # the schema is not there yet
            return []
    drafts = [TranscriptTurn.model_validate(json.loads(doc)) for (doc,) in rows]
    return [d for d in drafts if any(call.name == tool for call in d.tool_calls)]


async def test_a_call_left_open_by_a_killed_worker_is_closed_as_worker_lost_on_restart(
    simulator: AcsSimulator, tmp_path: Path
) -> None:
    db = tmp_path / "transcripts.sqlite3"
    port = free_port()
    env = serve_env(simulator, port=port, transcripts_db=db)
    env.pop("REDIS_URL", None)  # the embedded Redis: it dies with the worker
    url = f"http://127.0.0.1:{port}"

    script = [
        WaitForAgent(),
        Say(IDENTITY),
        WaitForAgent(),
        Say("What are my recent transactions?"),
        WaitForAgentStart(),
        Pause(30),
    ]
    worker = await start_serve(env)
    call: asyncio.Task[object] | None = None
    try:
        await wait_ready(url)
        call = asyncio.create_task(simulator.place_call(url, script, to_number=BANKING, max_duration_s=60))
        # Mid-reply: the caller hears the transactions being read out, and the store has a draft of that reply.
        await eventually(lambda: asyncio.to_thread(_drafts_calling, db, LONG_REPLY_TOOL), timeout=60)

        worker.send_signal(signal.SIGKILL)
        await worker.wait()
        call.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await call
        (call_id,) = await asyncio.to_thread(_open_calls_with_turns, db)
        (draft,) = await asyncio.to_thread(_drafts_calling, db, LONG_REPLY_TOOL)  # as the dead worker left it
        assert draft.call_id == call_id and draft.kind == "reply" and draft.text

        worker = await start_serve(env)  # the same data; a new embedded Redis that never saw the call
        await wait_ready(url)
        store = SqliteTranscriptStore(db)
        await store.open()
        try:
            transcript = await store.get(call_id)
        finally:
            await store.close()
        assert transcript is not None
        assert transcript.outcome is not None and transcript.outcome.reason == "worker lost"
        assert transcript.turns and transcript.turns[0].kind == "greeting"  # what was recorded is kept
        assert transcript.outcome.agents_visited == (transcript.turns[0].agent,)
        # The reply being spoken: its text so far (how much was heard died with the worker), cut short.
        last = transcript.turns[-1]
        assert (last.speaker, last.kind, last.interrupted) == ("agent", "reply", True)
        assert last.text == last.full_text == draft.text
        assert [c.name for c in last.tool_calls] == [LONG_REPLY_TOOL]
        assert last.seq > transcript.turns[-2].seq and transcript.turns[-2].speaker == "caller"
        assert not await asyncio.to_thread(_drafts_calling, db, LONG_REPLY_TOOL)

        async with httpx.AsyncClient(base_url=url, headers={"x-api-key": ADMIN_KEY}) as admin:
            got = await admin.get(f"/api/v1/calls/{call_id}")
            listed = await admin.get("/api/v1/calls")
        assert got.status_code == 200, got.text
        record = got.json()
        assert (record["status"], record["end_reason"], record["scenario"]) == (
            "ended",
            "worker lost",
            "banking",
        )
        assert [(c["call_id"], c["end_reason"]) for c in listed.json()["calls"]] == [(call_id, "worker lost")]
    finally:
        if call is not None and not call.done():
            call.cancel()
        await stop_serve(worker)
