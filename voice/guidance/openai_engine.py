"""Guidance from a chat model with structured output (Azure OpenAI, or any OpenAI-compatible server), with the
embedded engine as its fallback: any failure (HTTP error, timeout, refusal, an answer that does not fit the
checklist) is logged by kind only and answered by the embedded engine, so guidance always has a report.

One non-streaming request per report, bounded by `timeout_s` as a whole (the SDK's own timeout is only a
backstop) and never retried: a slow model costs one report's freshness, never a call's turn (live guidance
runs in its own task, off the audio and turn paths). One SDK client per engine: the replica's guidance shares
its connection pool; all per-report state lives inside `guide`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any, Self, cast

from openai import AsyncAzureOpenAI, AsyncOpenAI

from registries.scenariostore.schema import ScenarioSpec
from voice.guidance.engine import aembedded_report
from voice.guidance.models import MAX_TURNS, GuidanceReport, GuidanceTurn
from voice.guidance.structured import UnusableAnswer, messages, report_from_answer, response_format
from voice.usage.amounts import UsageAmounts
from voice.usage.ledger import report

log = logging.getLogger(__name__)

MAX_ANSWER_TOKENS = 600


class OpenAIGuidance:
    """`GuidanceEngine` over chat completions with a JSON-schema `response_format`."""

    def __init__(self, client: AsyncOpenAI, *, model: str, timeout_s: float, name: str) -> None:
        self.name = name
        self._client = client
        self._model = model
        self._timeout_s = timeout_s
        self.failures = 0
        """Reports the embedded engine answered because the model failed (for tests and metrics)."""

    @classmethod
    def azure(
        cls, *, endpoint: str, api_key: str, api_version: str, deployment: str, timeout_s: float
    ) -> Self:
        client = AsyncAzureOpenAI(
            azure_endpoint=endpoint,
            api_key=api_key,
            api_version=api_version,
            timeout=timeout_s + 1.0,  # backstop only: `guide` bounds the whole request
            max_retries=0,
        )
        return cls(client, model=deployment, timeout_s=timeout_s, name="azure-openai")

    async def aclose(self) -> None:
        await self._client.close()

    async def guide(self, scenario: ScenarioSpec, turns: Sequence[GuidanceTurn]) -> GuidanceReport:
        recent = list(turns[-MAX_TURNS:])
        try:
            async with asyncio.timeout(self._timeout_s):
                return await self._ask(scenario, recent)
        except Exception as exc:  # any failure: the embedded engine answers instead
            self.failures += 1
            log.warning(
                "guidance model failed; embedded guidance instead",
                extra={"provider": self.name, "error_type": type(exc).__name__},
            )
            return await aembedded_report(scenario, recent)

    async def _ask(self, scenario: ScenarioSpec, turns: list[GuidanceTurn]) -> GuidanceReport:
        items = scenario.guidance.checklist if scenario.guidance is not None else ()
        completion = await self._client.chat.completions.create(
            model=self._model,
            messages=cast(Any, messages(scenario, turns)),
            response_format=cast(Any, response_format(items)),
            temperature=0,
            max_tokens=MAX_ANSWER_TOKENS,
        )
        _report_usage(self.name, self._model, completion.usage)
        if not completion.choices:
            raise UnusableAnswer("no choice in the answer")
        message = completion.choices[0].message
        if message.refusal or not message.content:
            raise UnusableAnswer("the model refused or said nothing")
        return report_from_answer(message.content, scenario, turns, engine=self.name)


def _report_usage(provider: str, model: str, usage: Any) -> None:
    """The call's ledger (the live guidance task runs in the call's metering context) counts guidance's tokens
    under the agent name "guidance"; the API's ad-hoc requests have no ledger and count nowhere."""
    if usage is None:
        report(provider, model, UsageAmounts(requests=1), agent="guidance")
        return
    details = getattr(usage, "prompt_tokens_details", None)
    cached = int(getattr(details, "cached_tokens", 0) or 0) if details is not None else 0
    prompt = int(usage.prompt_tokens or 0)
    report(
        provider,
        model,
        UsageAmounts(
            requests=1,
            input_tokens=prompt,
            cached_input_tokens=min(cached, prompt),
            output_tokens=int(usage.completion_tokens or 0),
        ),
        agent="guidance",
    )
