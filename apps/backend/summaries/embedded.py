"""The embedded summariser: deterministic rules over the transcript, the tools called and their results.

It reports only what the transcript shows (tool names and outcomes, who the caller spoke with, how the call
ended); it never guesses at what was said beyond that. Azure OpenAI writes prose summaries when configured
(azure_openai.py); this is its fallback and the default with no Azure settings.
"""

from __future__ import annotations

from collections.abc import Sequence

from apps.backend.storage.intake_result import intake_in_transcript
from apps.backend.summaries.model import Disposition, SummaryContent
from voice.transcript import CallTranscript, ToolCallRecord, TranscriptTurn

TRANSFER_TOOLS = frozenset({"transfer_to_human", "transfer_to_nurse"})
PLUMBING_TOOLS = frozenset({"end_call", "verify_identity"})
"""Tools that say nothing about why the caller called."""
CALLBACK_WORDS = ("callback", "call_back")
ESCALATION_WORDS = ("escalat", "red_flag")
MAX_REASON_CHARS = 160


def _humane(tool: str) -> str:
    return tool.replace("_", " ")


def _is_handoff(call: ToolCallRecord) -> bool:
    return call.name.startswith("handoff_")


def summarise_transcript(transcript: CallTranscript) -> SummaryContent:
    calls = [call for turn in transcript.turns for call in turn.tool_calls]
    caller_turns = [t for t in transcript.turns if t.speaker == "caller"]
    agents: list[str] = []
    for turn in transcript.turns:
        if turn.speaker == "agent" and turn.agent and turn.agent not in agents:
            agents.append(turn.agent)
    end_reason = transcript.outcome.reason if transcript.outcome else "unknown"
    business = [c for c in calls if c.name not in PLUMBING_TOOLS | TRANSFER_TOOLS and not _is_handoff(c)]
    done = [c for c in business if c.ok]
    failed = [c for c in calls if not c.ok]
    intake = intake_in_transcript(transcript)

    disposition = _disposition(calls, done, failed, caller_turns, end_reason)
    reason = _reason(business, calls, caller_turns)
    follow_ups = [
        f"Retry {_humane(c.name)}: it failed during the call ({c.error or 'no detail'})." for c in failed
    ]
    if disposition == "callback_needed" and not follow_ups:
        follow_ups.append("Call the caller back: the call ended with their request still open.")
    if disposition == "transferred":
        follow_ups.append("A person took over the call; they own what is left.")

    sentences = [f"The caller spoke with {', '.join(agents) or 'no agent'}."]
    if done:
        sentences.append("Done: " + ", ".join(_humane(c.name) for c in done) + ".")
    if failed:
        sentences.append("Failed: " + ", ".join(_humane(c.name) for c in failed) + ".")
    if intake is not None:
        sentences.append(f"The {intake.form or 'intake'} form was completed.")
    sentences.append(f"The call ended: {end_reason}.")
    return SummaryContent(
        summary=" ".join(sentences), disposition=disposition, reason=reason, follow_ups=follow_ups
    )


def _disposition(
    calls: list[ToolCallRecord],
    done: list[ToolCallRecord],
    failed: list[ToolCallRecord],
    caller_turns: Sequence[TranscriptTurn],
    end_reason: str,
) -> Disposition:
    names = [c.name for c in calls if c.ok]
    if any(word in name for name in names for word in ESCALATION_WORDS):
        return "escalated"
    if any(name in TRANSFER_TOOLS for name in names) or "transfer" in end_reason:
        return "transferred"
    if any(word in name for name in names for word in CALLBACK_WORDS):
        return "callback_needed"
    if not caller_turns:
        return "abandoned"
    if failed and not done:
        return "callback_needed"
    if done:
        return "resolved"
    return "unresolved"


def _reason(
    business: list[ToolCallRecord], calls: list[ToolCallRecord], caller_turns: Sequence[TranscriptTurn]
) -> str:
    if business:
        return _humane(business[0].name).capitalize()
    handoffs = [c for c in calls if _is_handoff(c)]
    if handoffs:
        return f"Needed {_humane(handoffs[0].name.removeprefix('handoff_'))}"
    transfers = [c for c in calls if c.name in TRANSFER_TOOLS]
    if transfers and isinstance(transfers[0].arguments, dict) and transfers[0].arguments.get("reason"):
        return str(transfers[0].arguments["reason"])[:MAX_REASON_CHARS]
    for turn in caller_turns:
        text = getattr(turn, "text", "")
        if text:
            return text[
                :MAX_REASON_CHARS
            ]  # the caller's own first words (already redacted in the transcript)
    return "Unknown: the caller said nothing"
