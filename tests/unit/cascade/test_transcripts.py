"""The SQLite transcript store and the per-call writer: ordered, idempotent, nothing lost on a blip."""

from __future__ import annotations

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
