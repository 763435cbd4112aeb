"""Outbound calls: who answered, on the call record. ACS tells us when nobody did (CreateCallFailed, with a
SIP-style result code); the answer screening (voice/session/answer_screening.py) tells us who did."""

from __future__ import annotations

from collections.abc import Callable

from apps.backend.acs.events import ResultInformation
from apps.backend.calls.record_writer import Mutation
from apps.backend.settings import Settings
from apps.backend.storage.call_store import AnsweredBy, CallChannel, CallDirection, CallRecord

BUSY_CODES = frozenset({486, 600})
"""SIP "Busy Here" / "Busy Everywhere"; every other failure to connect is recorded as no answer."""


def unanswered_outcome(result: ResultInformation | None) -> AnsweredBy:
    code = result.code if result is not None else None
    return AnsweredBy.BUSY if code in BUSY_CODES else AnsweredBy.NO_ANSWER


def screens_answer(record: CallRecord, settings: Settings) -> bool:
    """Answer screening runs on outbound phone calls when ANSWERING_MACHINE_DETECTION is on."""
    return (
        settings.answering_machine_detection
        and record.direction is CallDirection.OUTBOUND
        and record.channel is CallChannel.PHONE
    )


def record_answer_outcome(submit: Callable[[Mutation], None]) -> Callable[[str, str | None], None]:
    """The screening's outcomes, written behind the call (never awaited on its audio path)."""

    def on_outcome(event: str, detail: str | None) -> None:
        def mutate(r: CallRecord) -> None:
            if event == "answered_by" and detail is not None:
                r.answered_by = AnsweredBy(detail)
            r.add_event(event, detail[:200] if detail else None)

        submit(mutate)

    return on_outcome
