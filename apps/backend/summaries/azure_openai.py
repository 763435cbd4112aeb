"""Post-call summaries by Azure OpenAI with structured output: the reply must follow `SummaryContent`'s JSON
schema (`response_format: json_schema`, strict). The model sees the stored (redacted) transcript, the tools
called with their results, and how the call ended; nothing else."""

from __future__ import annotations

import json
from typing import Any, cast

from openai import AsyncAzureOpenAI

from apps.backend.summaries.model import SummaryContent
from voice.transcript import CallTranscript

INSTRUCTIONS = (
    "You summarise a finished contact-center phone call for the team. Use only facts in the transcript and the "
    "tool results: never invent names, numbers or promises. Pick the disposition that fits how the call ended. "
    "Follow-ups are concrete actions left for the team; leave the list empty when nothing is left."
)
MAX_TRANSCRIPT_CHARS = 24000
MAX_TOOL_OUTPUT_CHARS = 600


def summary_schema() -> dict[str, Any]:
    return {"name": "call_summary", "strict": True, "schema": SummaryContent.model_json_schema()}


def transcript_as_text(transcript: CallTranscript) -> str:
    lines: list[str] = []
    for turn in transcript.turns:
        who = "Caller" if turn.speaker == "caller" else f"Agent ({turn.agent or 'agent'})"
        cut = " [cut off by the caller]" if turn.interrupted else ""
        lines.append(f"{who}: {turn.text}{cut}")
        for call in turn.tool_calls:
            result = json.dumps(call.output, default=str)[:MAX_TOOL_OUTPUT_CHARS] if call.ok else call.error
            lines.append(f"  tool {call.name} {'ok' if call.ok else 'failed'}: {result}")
    if transcript.outcome is not None:
        lines.append(f"Call ended: {transcript.outcome.reason}")
    return "\n".join(lines)[-MAX_TRANSCRIPT_CHARS:]


class AzureOpenAiSummariser:
    name = "azure_openai"

    def __init__(self, *, endpoint: str, api_key: str, api_version: str, deployment: str) -> None:
        self._client = AsyncAzureOpenAI(
            azure_endpoint=endpoint, api_key=api_key, api_version=api_version, max_retries=1, timeout=20.0
        )
        self._deployment = deployment

    async def summarise(self, transcript: CallTranscript) -> SummaryContent:
        stream = await self._client.chat.completions.create(
            model=self._deployment,
            messages=cast(
                Any,
                [
                    {"role": "system", "content": INSTRUCTIONS},
                    {"role": "user", "content": transcript_as_text(transcript)},
                ],
            ),
            response_format=cast(Any, {"type": "json_schema", "json_schema": summary_schema()}),
            temperature=0,
            stream=True,
        )
        parts: list[str] = []
        async with stream:
            async for chunk in stream:
                for choice in chunk.choices:  # Azure's content-filter chunks carry no delta
                    if choice.delta is not None and choice.delta.content:
                        parts.append(choice.delta.content)
        return SummaryContent.model_validate_json("".join(parts))

    async def aclose(self) -> None:
        await self._client.close()
