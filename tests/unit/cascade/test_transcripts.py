"""The SQLite transcript store and the per-call writer: ordered, idempotent, nothing lost on a blip."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from apps.backend.storage.sqlite_transcripts import SqliteTranscriptStore
from voice.session.transcript_writer import TranscriptWriter
from voice.transcript import CallOutcome, ToolCallRecord, TranscriptTurn, TurnLatency

T0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


def turn(seq: int, text: str, **extra: object) -> TranscriptTurn:
    return TranscriptTurn(
        call_id="c1",
        seq=seq,
        speaker="agent" if seq % 2 else "caller",
        kind="reply" if seq % 2 else "speech",
        agent="concierge",
        text=text,
        started_at=T0,
        ended_at=T0,
        **extra,
    )


async def test_turns_round_trip_in_order_and_rewrites_do_not_duplicate(tmp_path: Path) -> None:
    store = SqliteTranscriptStore(tmp_path / "t.sqlite3")
    await store.open()
    try:
        await store.start_call("c1", caller="+14255550123", scenario="banking", started_at=T0)
        tool = ToolCallRecord(
            id="call_1", name="get_balance", arguments={"account_type": "checking"}, ok=True
        )
        await store.append_turn(
            turn(
                1,
                "Your balance is",
                interrupted=True,
                full_text="Your balance is $5.",
                tool_calls=(tool,),
                latency=TurnLatency(response_ms=420.0),
            )
        )
        await store.append_turn(turn(0, "what's my balance"))
        await store.append_turn(
            turn(
                1,
                "Your balance is",
                interrupted=True,
                full_text="Your balance is $5.",
                tool_calls=(tool,),
                latency=TurnLatency(response_ms=420.0),
            )
        )
        await store.end_call("c1", CallOutcome(reason="caller hung up", agents_visited=("concierge",)))
        got = await store.get("c1")
        assert got is not None
        assert [t.seq for t in got.turns] == [0, 1]
        assert got.turns[1].tool_calls[0].arguments == {"account_type": "checking"}
        assert got.turns[1].interrupted and got.turns[1].latency.response_ms == 420.0
        assert got.caller == "+14255550123" and got.scenario == "banking"
        assert got.outcome is not None and got.outcome.reason == "caller hung up"
        assert await store.get("nope") is None
    finally:
        await store.close()


class FlakyStore(SqliteTranscriptStore):
    """Fails the first append, like a locked database or a dropped connection."""

    failures = 1

    async def append_turn(self, t: TranscriptTurn) -> None:
        if self.failures:
            self.failures -= 1
            raise OSError("database is locked")
        await super().append_turn(t)


async def test_writer_retries_and_drains_everything_on_close(tmp_path: Path) -> None:
    store = FlakyStore(tmp_path / "t.sqlite3")
    await store.open()
    try:
        writer = TranscriptWriter(store, call_id="c1", caller="+1", scenario="banking", started_at=T0)
        writer.start()
        for seq in range(5):
            writer.add(turn(seq, f"turn {seq}"))
        await writer.close(CallOutcome(reason="agent ended the call"))
        got = await store.get("c1")
        assert got is not None
        assert [t.text for t in got.turns] == [f"turn {n}" for n in range(5)]
        assert got.outcome is not None and got.outcome.reason == "agent ended the call"
    finally:
        await store.close()


async def test_two_turns_with_the_same_seq_are_both_kept_and_numbers_never_collide(tmp_path: Path) -> None:
    """Two writers of one call (or a worker that resumed it and numbers from 0 again): nothing is replaced."""
    store = SqliteTranscriptStore(tmp_path / "t.sqlite3")
    await store.open()
    try:
        await store.start_call("c1", caller="+1", scenario="banking", started_at=T0)
        first_writer = [turn(0, "hello from the first worker"), turn(1, "first worker's reply")]
        resumed_writer = [turn(0, "hello again, resumed"), turn(1, "resumed reply")]
        for t in first_writer:
            await store.append_turn(t)
        for t in resumed_writer:
            await store.append_turn(t)
        await store.append_turn(resumed_writer[0])  # a retried write of a turn already stored: no copy
        got = await store.get("c1")
        assert got is not None
        assert [t.text for t in got.turns] == [t.text for t in first_writer + resumed_writer]
        assert [t.seq for t in got.turns] == [0, 1, 2, 3]
    finally:
        await store.close()


async def test_a_transcript_file_from_before_turn_keys_opens_and_keeps_its_turns(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE calls (call_id TEXT PRIMARY KEY, caller TEXT, scenario TEXT, started_at TEXT NOT NULL,"
        " outcome TEXT);"
        "CREATE TABLE turns (call_id TEXT NOT NULL, seq INTEGER NOT NULL, doc TEXT NOT NULL,"
        " PRIMARY KEY (call_id, seq));"
    )
    old.execute("INSERT INTO turns VALUES ('c1', 0, ?)", (turn(0, "stored long ago").model_dump_json(),))
    old.commit()
    old.close()
    store = SqliteTranscriptStore(path)
    await store.open()
    try:
        await store.append_turn(turn(0, "a new turn numbered 0"))
        got = await store.get("c1")
        assert got is not None
        assert [(t.seq, t.text) for t in got.turns] == [(0, "stored long ago"), (1, "a new turn numbered 0")]
    finally:
        await store.close()
