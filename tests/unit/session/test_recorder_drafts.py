"""While an agent reply is being spoken the recorder keeps a draft of it in the store (masked like any turn),
replaced only when the reply changed, and superseded by the reply's turn when it ends. The cascade's and
VoiceLive's replies in progress become drafts once the caller can hear them (or their tools ran)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any

import pytest

import voice.session.recorder as recorder_module
from registries.loader import load_registry
from tests.call_doubles import CountingSink, MemoryTranscripts
from tests.support import eventually
from tests.unit.voicelive.fakes import audio_delta
from voice.session.conversation import CallConversation
from voice.session.recorder import ReplyDraft, TurnRecorder
from voice.speech_cascade.records import ReplyState, reply_draft
from voice.speech_cascade.speaker import Utterance, Voice
from voice.transcript import ToolCallRecord
from voice.transports.playout import PacedPlayout
from voice.voicelive.bridge import InboundAudio, OutboundAudio
from voice.voicelive.turn_book import TurnBook

SNAPSHOT = load_registry()
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
VERIFY = ToolCallRecord(
    id="t1",
    name="verify_identity",
    arguments={"full_name": "Jordan Rivera", "account_last4": "4821"},
    ok=True,
)


def recorder(transcripts: MemoryTranscripts) -> TurnRecorder:
    conv = CallConversation(
        call_id="call-1",
        caller="+14255550123",
        snapshot=SNAPSHOT,
        scenario=SNAPSHOT.scenarios["banking"],
        agent=SNAPSHOT.start_agent("banking"),
    )

    def own(work: Awaitable[Any]) -> None:  # no observer: nothing is ever handed over
        raise AssertionError("unexpected background work")

    return TurnRecorder(conv, transcripts, None, own=own)


async def test_the_reply_in_progress_is_kept_as_a_masked_draft_until_its_turn_is_written() -> None:
    transcripts = MemoryTranscripts()
    rec = recorder(transcripts)
    current: list[ReplyDraft | None] = [None]
    rec.start(lambda: current[0], draft_interval_s=0.01)
    rec.caller("what are my transactions", kind="speech", agent="concierge", started_at=T0, ended_at=T0)

    first = ReplyDraft(kind="reply", agent="concierge", text="Jordan, your account", started_at=T0)
    current[0] = first
    await eventually(lambda: transcripts.drafts)
    grown = ReplyDraft(
        kind="reply",
        agent="concierge",
        text="Jordan, the last four of your account are four eight two one",
        started_at=T0,
        tool_calls=(VERIFY,),
    )
    current[0] = grown
    await eventually(lambda: len(transcripts.drafts) == 2)
    saved = [d for d in transcripts.drafts if d is not None]
    assert len(saved) == 2 == len(transcripts.drafts)  # a draft is written again only when it changed
    draft = saved[-1]
    assert (draft.call_id, draft.seq, draft.speaker, draft.kind, draft.agent) == (
        "call-1",
        1,  # the seq the reply's turn will propose
        "agent",
        "reply",
        "concierge",
    )
    # We cannot know how much of it the caller heard: the whole text so far, marked cut short.
    assert (
        draft.interrupted
        and draft.text == draft.full_text == "Jordan, the last four of your account are [account]"
    )
    assert draft.tool_calls[0].name == "verify_identity" and "4821" not in draft.model_dump_json()

    current[0] = None  # the reply ends and its turn is written: the store drops the draft with it
    rec.agent(
        kind="reply",
        agent="concierge",
        full_text=grown.text,
        heard_text=grown.text,
        interrupted=False,
        started_at=T0,
        tool_calls=[VERIFY],
    )
    await rec.close("caller hung up")
    assert transcripts.drafts == saved  # no separate clear
    assert [t.seq for t in transcripts.turns] == [0, 1]


async def test_a_replys_words_are_masked_once_across_its_drafts_and_its_turn(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Masking is the recorder's costliest step per reply: its last draft and its turn (text and full text
    alike when heard whole) carry the same words, masked once; a new text is masked anew."""
    masked: list[str] = []
    redact_text = recorder_module.redact_text

    def counting(text: str, policy: Any, **kwargs: Any) -> str:
        masked.append(text)
        return redact_text(text, policy, **kwargs)

    monkeypatch.setattr(recorder_module, "redact_text", counting)
    transcripts = MemoryTranscripts()
    rec = recorder(transcripts)
    said = "Jordan, the last four of your account are four eight two one"
    current: list[ReplyDraft | None] = [ReplyDraft(kind="reply", agent="concierge", text=said, started_at=T0)]
    rec.start(lambda: current[0], draft_interval_s=0.01)
    await eventually(lambda: transcripts.drafts)
    current[0] = None
    rec.agent(
        kind="reply",
        agent="concierge",
        full_text=said,
        heard_text=said,
        interrupted=False,
        started_at=T0,
        tool_calls=[],
    )
    rec.agent(
        kind="reply",
        agent="concierge",
        full_text="Your balance is four hundred dollars. Anything else?",
        heard_text="Your balance is four hundred dollars.",
        interrupted=True,
        started_at=T0,
        tool_calls=[],
    )
    await rec.close("caller hung up")
    assert masked == [
        said,
        "Your balance is four hundred dollars.",
        "Your balance is four hundred dollars. Anything else?",
    ]
    turn, cut = transcripts.turns
    assert turn.text == "Jordan, the last four of your account are [account]" and turn.full_text is None
    assert (cut.text, cut.full_text) == (
        "Your balance is four hundred dollars.",
        "Your balance is four hundred dollars. Anything else?",
    )


async def test_a_reply_that_ends_without_a_turn_clears_its_draft() -> None:
    transcripts = MemoryTranscripts()
    rec = recorder(transcripts)
    current: list[ReplyDraft | None] = [
        ReplyDraft(kind="reply", agent="concierge", text="One", started_at=T0)
    ]
    rec.start(lambda: current[0], draft_interval_s=0.01)
    await eventually(lambda: transcripts.drafts)
    current[0] = None
    await eventually(lambda: transcripts.drafts[-1] is None)
    await rec.close("caller hung up")
    assert [d.text if d else None for d in transcripts.drafts] == ["One", None]


async def test_a_cascade_reply_is_a_draft_once_heard_or_once_its_tools_ran() -> None:
    state = ReplyState(caller=None, agent="concierge", utterance=Utterance(sample_rate=16000), started_at=T0)
    state.utterance.add("Your last three transactions are", Voice())
    assert reply_draft(state) is None  # queued, not heard yet
    state.tool_records.append(VERIFY)
    assert reply_draft(state) == ReplyDraft(
        kind="reply",
        agent="concierge",
        text="Your last three transactions are",
        started_at=T0,
        tool_calls=(VERIFY,),
    )
    state.tool_records.clear()
    state.utterance.first_audio_at = 1.0
    draft = reply_draft(state)
    assert draft is not None and draft.text == "Your last three transactions are"
    assert reply_draft(None) is None


async def test_a_voicelive_response_is_a_draft_from_its_first_audio_until_it_is_written_down() -> None:
    transcripts = MemoryTranscripts()
    rec = recorder(transcripts)
    conv = CallConversation(
        call_id="call-1",
        caller="+14255550123",
        snapshot=SNAPSHOT,
        scenario=SNAPSHOT.scenarios["banking"],
        agent=SNAPSHOT.start_agent("banking"),
    )
    background: list[asyncio.Task[Any]] = []

    def own(work: Awaitable[Any]) -> asyncio.Task[Any]:
        background.append(asyncio.ensure_future(work))
        return background[-1]

    book = TurnBook(conv, recorder=rec, own=own)
    playout = PacedPlayout(CountingSink(), frame_bytes=640)
    book.attach(InboundAudio(16000), OutboundAudio(playout, 16000), playout)
    book.on_response_created({"id": "resp_1"})
    book.on_transcript_delta({"response_id": "resp_1", "delta": "Your balance is"})
    assert book.reply_draft() is None  # nothing heard yet
    book.on_audio_delta(audio_delta(b"\x01\x00" * 320))
    draft = book.reply_draft()
    assert draft is not None and (draft.kind, draft.agent, draft.text) == (
        "reply",
        "concierge",
        "Your balance is",
    )
    book.close(heard_ms=0, item_id=None, audible=False)  # written down
    assert book.reply_draft() is None
