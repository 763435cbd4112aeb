"""Post-call summaries: when a call ends, summarise its stored transcript (Azure OpenAI structured output when
configured, else the embedded rules, and the rules whenever the model fails), store the summary with the
transcript (in its outcome) and publish it as a `call_summary` live event.

Runs behind the call in a task the call service owns, bounded by CALL_SUMMARY_TIMEOUT_SECONDS; never on the
call's audio path. Failures are logged and end there.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from apps.backend.calls.live_events import CallEventPublisher
from apps.backend.settings import Settings
from apps.backend.storage.intake_result import intake_in_transcript
from apps.backend.summaries.embedded import summarise_transcript
from apps.backend.summaries.model import PostCallSummary, SummaryContent
from voice.transcript import CallTranscript, TranscriptStore

log = logging.getLogger(__name__)

OUTCOME_WAIT_S = 5.0
"""How long to wait for the transcript's outcome (written as the call closes) before summarising anyway."""


class Summariser(Protocol):
    name: str

    async def summarise(self, transcript: CallTranscript) -> SummaryContent: ...

    async def aclose(self) -> None: ...


def build_summariser(settings: Settings) -> Summariser | None:
    """Azure OpenAI when it is configured; None: the embedded rules only."""
    if settings.azure_openai_endpoint and settings.azure_openai_api_key and settings.azure_openai_deployment:
        from apps.backend.summaries.azure_openai import AzureOpenAiSummariser

        return AzureOpenAiSummariser(
            endpoint=settings.azure_openai_endpoint,
            api_key=settings.azure_openai_api_key.get_secret_value(),
            api_version=settings.azure_openai_api_version,
            deployment=settings.azure_openai_deployment,
        )
    return None


def summary_of(transcript: CallTranscript) -> PostCallSummary | None:
    """The summary stored with a transcript, if it has one."""
    if transcript.outcome is None or transcript.outcome.summary is None:
        return None
    return PostCallSummary.model_validate(transcript.outcome.summary)


class SummaryService:
    def __init__(
        self,
        transcripts: TranscriptStore,
        events: CallEventPublisher,
        *,
        model: Summariser | None,
        timeout_s: float,
    ) -> None:
        self._transcripts = transcripts
        self._events = events
        self._model = model
        self._timeout_s = timeout_s

    async def aclose(self) -> None:
        if self._model is not None:
            await self._model.aclose()

    async def summarise(self, call_id: str) -> PostCallSummary | None:
        """Summarise the finished call, store and publish the summary. None when it could not be made."""
        try:
            async with asyncio.timeout(self._timeout_s):
                return await self._summarise(call_id)
        except Exception as exc:
            log.error("post-call summary failed", extra={"error_type": type(exc).__name__})
            return None

    async def _summarise(self, call_id: str) -> PostCallSummary | None:
        transcript = await self._finished_transcript(call_id)
        if transcript is None or transcript.outcome is None:
            log.warning("no finished transcript to summarise")
            return None
        content, source = await self._content(transcript)
        intake = intake_in_transcript(transcript)
        summary = PostCallSummary(
            call_id=call_id,
            source=source,
            intake=intake.fields if intake is not None else None,
            end_reason=transcript.outcome.reason,
            **content.model_dump(),
        )
        outcome = transcript.outcome.model_copy(update={"summary": summary.model_dump(mode="json")})
        await self._transcripts.end_call(call_id, outcome)
        self._events.call_summary(call_id, summary)
        log.info("post-call summary stored", extra={"disposition": summary.disposition, "source": source})
        return summary

    async def _content(self, transcript: CallTranscript) -> tuple[SummaryContent, str]:
        if self._model is not None:
            try:
                return await self._model.summarise(transcript), "azure_openai"
            except Exception as exc:  # the rules always answer: a model outage still gets a summary
                log.warning(
                    "summary model failed; using the embedded summariser",
                    extra={"error_type": type(exc).__name__},
                )
        return summarise_transcript(transcript), "embedded"

    async def _finished_transcript(self, call_id: str) -> CallTranscript | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + OUTCOME_WAIT_S
        while True:
            transcript = await self._transcripts.get(call_id)
            if (transcript is not None and transcript.outcome is not None) or loop.time() > deadline:
                return transcript
            await asyncio.sleep(0.2)
