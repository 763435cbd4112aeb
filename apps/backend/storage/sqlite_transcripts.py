"""Transcripts in a local SQLite file: the embedded default when no Cosmos DB is configured.

sqlite3 blocks, so every statement runs on one dedicated thread (which also serialises writers on the one
connection). A turn is inserted in one IMMEDIATE transaction that also picks its seq (the writer's, or the
call's last + 1 when another turn has that one), so two writers of a call (or a worker that resumed it and numbers
from 0) never replace each other's turns; `turn_key` makes a retried write of the same turn a no-op.

`drafts` holds at most one row per call: the agent reply in progress, replaced as it grows, deleted in the
transaction that writes the call's next agent turn or its outcome (see `TranscriptStore.save_draft`).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from voice.transcript import CallOutcome, CallTranscript, TranscriptTurn, turn_key

_T = TypeVar("_T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    call_id    TEXT PRIMARY KEY,
    caller     TEXT,
    scenario   TEXT,
    started_at TEXT NOT NULL,
    outcome    TEXT
);
CREATE TABLE IF NOT EXISTS turns (
    call_id  TEXT NOT NULL,
    seq      INTEGER NOT NULL,
    doc      TEXT NOT NULL,
    turn_key TEXT,
    PRIMARY KEY (call_id, seq)
);
CREATE TABLE IF NOT EXISTS drafts (
    call_id TEXT PRIMARY KEY,
    doc     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS calls_open ON calls(started_at) WHERE outcome IS NULL;
"""
_TURN_KEY_INDEX = "CREATE UNIQUE INDEX IF NOT EXISTS turns_key ON turns(call_id, turn_key)"


class SqliteTranscriptStore:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-transcripts")
        self._db: sqlite3.Connection | None = None

    async def open(self) -> None:
        await self._run(self._open)

    def _open(self) -> None:
        if self.path.parent:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(_SCHEMA)
        columns = {row[1] for row in db.execute("PRAGMA table_info(turns)")}
        if "turn_key" not in columns:  # a file from before turn keys: its old rows keep a NULL key
            db.execute("ALTER TABLE turns ADD COLUMN turn_key TEXT")
        db.execute(_TURN_KEY_INDEX)
        self._db = db

    async def close(self) -> None:
        if self._db is not None:
            await self._run(self._db.close)
            self._db = None
        self._executor.shutdown(wait=True)

    async def _run(self, fn: Callable[..., _T], *args: object) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("SqliteTranscriptStore is not open")
        return self._db

    async def start_call(
        self, call_id: str, *, caller: str | None, scenario: str | None, started_at: datetime
    ) -> None:
        sql = (
            "INSERT INTO calls(call_id, caller, scenario, started_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(call_id) DO UPDATE SET caller=excluded.caller, scenario=excluded.scenario"
        )
        await self._run(
            lambda: self._conn().execute(sql, (call_id, caller, scenario, started_at.isoformat()))
        )

    async def append_turn(self, turn: TranscriptTurn) -> None:
        await self._run(self._append_turn, turn, turn_key(turn))

    def _append_turn(self, turn: TranscriptTurn, key: str) -> None:
        db = self._conn()
        db.execute("BEGIN IMMEDIATE")  # the seq is picked and taken in one transaction, across processes too
        try:
            known = db.execute(
                "SELECT 1 FROM turns WHERE call_id = ? AND turn_key = ?", (turn.call_id, key)
            ).fetchone()
            if known is None:
                seq = turn.seq
                taken = "SELECT 1 FROM turns WHERE call_id = ? AND seq = ?"
                if db.execute(taken, (turn.call_id, seq)).fetchone() is not None:
                    last = "SELECT MAX(seq) FROM turns WHERE call_id = ?"
                    seq = int(db.execute(last, (turn.call_id,)).fetchone()[0]) + 1
                stored = turn if seq == turn.seq else turn.model_copy(update={"seq": seq})
                db.execute(
                    "INSERT INTO turns(call_id, seq, doc, turn_key) VALUES (?, ?, ?, ?)",
                    (turn.call_id, seq, stored.model_dump_json(), key),
                )
            if turn.speaker == "agent":
                db.execute("DELETE FROM drafts WHERE call_id = ?", (turn.call_id,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    async def save_draft(self, draft: TranscriptTurn) -> None:
        sql = "INSERT INTO drafts(call_id, doc) VALUES (?, ?) ON CONFLICT(call_id) DO UPDATE SET doc=excluded.doc"
        doc = draft.model_dump_json()
        await self._run(lambda: self._conn().execute(sql, (draft.call_id, doc)))

    async def clear_draft(self, call_id: str) -> None:
        await self._run(lambda: self._conn().execute("DELETE FROM drafts WHERE call_id = ?", (call_id,)))

    async def draft(self, call_id: str) -> TranscriptTurn | None:
        """The call's reply in progress, if one was saved and not superseded."""
        sql = "SELECT doc FROM drafts WHERE call_id = ?"
        row = await self._run(lambda: self._conn().execute(sql, (call_id,)).fetchone())
        return TranscriptTurn.model_validate_json(row[0]) if row else None

    async def unfinished_calls(self, limit: int) -> list[str]:
        """Calls whose transcript has no outcome yet (live somewhere, or left open by a dead worker), oldest
        first."""
        sql = "SELECT call_id FROM calls WHERE outcome IS NULL ORDER BY started_at LIMIT ?"
        rows = await self._run(lambda: self._conn().execute(sql, (limit,)).fetchall())
        return [call_id for (call_id,) in rows]

    async def end_call(self, call_id: str, outcome: CallOutcome) -> None:
        sql = (
            "INSERT INTO calls(call_id, started_at, outcome) VALUES (?, ?, ?) "
            "ON CONFLICT(call_id) DO UPDATE SET outcome=excluded.outcome"
        )
        doc = outcome.model_dump_json()

        def end() -> None:
            db = self._conn()
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute(sql, (call_id, outcome.ended_at.isoformat(), doc))
                db.execute("DELETE FROM drafts WHERE call_id = ?", (call_id,))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

        await self._run(end)

    async def get(self, call_id: str) -> CallTranscript | None:
        def read() -> CallTranscript | None:
            db = self._conn()
            row = db.execute(
                "SELECT caller, scenario, started_at, outcome FROM calls WHERE call_id = ?", (call_id,)
            ).fetchone()
            turns = [
                TranscriptTurn.model_validate_json(doc)
                for (doc,) in db.execute("SELECT doc FROM turns WHERE call_id = ? ORDER BY seq", (call_id,))
            ]
            if row is None and not turns:
                return None
            caller, scenario, started_at, outcome = row if row else (None, None, None, None)
            return CallTranscript(
                call_id=call_id,
                caller=caller,
                scenario=scenario,
                started_at=datetime.fromisoformat(started_at) if started_at else None,
                outcome=CallOutcome.model_validate_json(outcome) if outcome else None,
                turns=turns,
            )

        return await self._run(read)
