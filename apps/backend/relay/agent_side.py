"""The relay's server side of the conversation: the scenario's agent (instructions and tools in the upstream
session), its tools run by the catalog and answered upstream, handoffs, and the transcript written like a
call's (`TurnRecorder`). The client only sees events.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from apps.backend.relay.upstream import Dialect
from apps.backend.storage.call_store import utcnow
from registries.toolstore.catalog import ToolResult
from voice.llm.base import ToolCall
from voice.session.conversation import CallConversation
from voice.session.handoffs import handoff_edge
from voice.session.recorder import TurnRecorder
from voice.session.tool_runs import tool_record
from voice.transcript import ToolCallRecord
from voice.voicelive.tool_runner import run_calls

log = logging.getLogger(__name__)

TOOL_TIMEOUT_S = 10.0


@dataclass
class ToolRound:
    """What running one response's function calls produced."""

    outputs: list[dict[str, Any]]
    """`conversation.item.create` events with the calls' outputs, in call order."""
    records: list[ToolCallRecord]
    handed_off: bool = False
    ends_session: bool = False


@dataclass
class ResponseOutput:
    """What a `response.done` carried: the agent's words and the function calls it asked for."""

    text: str = ""
    calls: list[ToolCall] = field(default_factory=list)


def response_output(response: dict[str, Any]) -> ResponseOutput:
    """Reads both dialects (`audio`/`output_audio` transcripts, `text`/`output_text`); skips what it cannot
    read rather than failing."""
    out = ResponseOutput()
    words: list[str] = []
    items = response.get("output")
    for item in items if isinstance(items, list) else ():
        if not isinstance(item, dict):
            continue
        if item.get("type") == "function_call" and isinstance(item.get("name"), str):
            call_id, arguments = item.get("call_id"), item.get("arguments")
            call_id = call_id if isinstance(call_id, str) else ""
            arguments = arguments if isinstance(arguments, str) else "{}"
            out.calls.append(ToolCall(id=call_id, name=item["name"], arguments=arguments))
        elif item.get("type") == "message":
            parts = item.get("content")
            for part in parts if isinstance(parts, list) else ():
                if isinstance(part, dict):
                    said = part.get("transcript") or part.get("text")
                    if isinstance(said, str) and said:
                        words.append(said)
    out.text = " ".join(words)
    return out


def transcription_model(session: dict[str, Any]) -> str:
    """The input transcription model the client chose (GA `audio.input.transcription`, beta
    `input_audio_transcription`), or "transcription"."""
    audio = session.get("audio")
    given = audio.get("input") if isinstance(audio, dict) else None
    for config in (
        given.get("transcription") if isinstance(given, dict) else None,
        session.get("input_audio_transcription"),
    ):
        if isinstance(config, dict) and isinstance(config.get("model"), str) and config["model"]:
            return str(config["model"])
    return "transcription"


class RelayAgent:
    def __init__(self, conversation: CallConversation, recorder: TurnRecorder) -> None:
        self.conversation = conversation
        self._recorder = recorder
        self._caller_started: datetime | None = None

    # --- the upstream session ----------------------------------------------------------------------------
    def session_update(self, client_fields: dict[str, Any], dialect: Dialect) -> dict[str, Any]:
        """The agent's instructions and tools over what the client chose (voice, audio, turn detection)."""
        conv = self.conversation
        session: dict[str, Any] = dict(client_fields)
        session["instructions"] = conv.system_prompt()["content"]
        session["tools"] = [
            {
                "type": "function",
                "name": spec.name,
                "description": spec.description,
                "parameters": spec.parameters,
            }
            for spec in conv.catalog().values()
        ]
        session["tool_choice"] = "auto"
        if dialect == "ga":
            session["type"] = "realtime"
        return {"type": "session.update", "session": session}

    def replay_items(self, dialect: Dialect) -> list[dict[str, Any]]:
        """The conversation so far as text items for a fresh upstream session (tool calls are not replayed:
        their results already shaped what the agent said)."""
        events = []
        for message in self.conversation.history():
            content = message.get("content")
            role = message.get("role")
            if not isinstance(content, str) or not content or role not in ("user", "assistant", "system"):
                continue
            kind = "input_text" if role != "assistant" else ("output_text" if dialect == "ga" else "text")
            events.append(
                {
                    "type": "conversation.item.create",
                    "item": {"type": "message", "role": role, "content": [{"type": kind, "text": content}]},
                }
            )
        return events

    # --- the transcript ----------------------------------------------------------------------------------
    def caller_said(self, text: str) -> None:
        if not text.strip():
            return
        now = utcnow()
        self.conversation.add_caller_text(text)
        agent = self.conversation.agent.name
        self._recorder.caller(text, kind="speech", agent=agent, started_at=now, ended_at=now)

    def agent_said(self, text: str, records: list[ToolCallRecord], started_at: datetime) -> None:
        if not text and not records:
            return
        agent = self.conversation.agent.name
        self.conversation.add_agent_text(text)
        self._recorder.agent(
            kind="reply",
            agent=agent,
            full_text=text,
            heard_text=text,
            interrupted=False,
            started_at=started_at,
            tool_calls=records,
        )

    # --- tools -------------------------------------------------------------------------------------------
    async def run_tools(self, calls: list[ToolCall]) -> ToolRound:
        conv = self.conversation
        agent = conv.agent.name
        catalog = conv.catalog()
        ctx = conv.tool_context()
        results: list[tuple[ToolCall, ToolResult]] = await run_calls(
            catalog, calls, ctx, conv.history(agent), timeout_s=TOOL_TIMEOUT_S, agent=agent
        )
        conv.tools_called.extend(call.name for call in calls)
        round_ = ToolRound(
            outputs=[
                {
                    "type": "conversation.item.create",
                    "item": {
                        "type": "function_call_output",
                        "call_id": call.id,
                        "output": result.to_message(),
                    },
                }
                for call, result in results
            ],
            records=[tool_record(call, result) for call, result in results],
        )
        handoff = next((a for a in ctx.actions if a.kind == "handoff" and a.target), None)
        if handoff is not None and handoff.target and handoff.target != agent:
            conv.hand_off(handoff_edge(catalog, handoff.target), handoff.detail)
            log.info("relay handoff", extra={"from": agent, "to": conv.agent.name})
            round_.handed_off = True
        elif any(a.kind in ("hang_up", "transfer") for a in ctx.actions):
            round_.ends_session = (
                True  # a relay has no phone line: the agent says its line, then the session ends
            )
        return round_
