"""Reading the OpenAI-format history the cascade sends: the caller's last words, tool results to reply to,
the question the agent asked last, and values earlier tool calls produced."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from voice.llm.base import Message
from voice.llm.local_brain.heard import as_heard


@dataclass(frozen=True)
class ToolOutcome:
    """One tool call of the history with its result."""

    call_id: str
    name: str
    args: dict[str, Any]
    ok: bool
    output: dict[str, Any] = field(default_factory=dict)  # the result fields, without "ok"
    error_type: str = ""
    error_message: str = ""
    asked_by: str = ""
    """What the caller had last said when this call was made (the request a handoff carries over)."""


@dataclass(frozen=True)
class DialogReading:
    """What the brain reads out of the chat history for one decision (the history itself is the state)."""

    last_user: str | None
    """Text of the caller's last message when it is the newest message, else None."""
    latest_user: str | None
    """Text of the caller's most recent message, wherever it is."""
    unanswered: tuple[ToolOutcome, ...]
    """Tool results since the caller last spoke, when the newest message is a tool result (the cascade asks
    for a reply). Some may have been answered already: the cascade records a turn's spoken text only once
    the turn ends, so the brain remembers which results it has replied to."""
    last_question: str | None
    """The last sentence ending in '?' of the agent's last spoken reply."""
    outcomes: tuple[ToolOutcome, ...]
    """Every tool call of the history with its result, oldest first."""
    call_ids: frozenset[str]
    last_spoken: str | None = None
    """The agent's last spoken reply."""
    last_content: str | None = None
    """The agent's last reply that said something ("sure, take your time" does not): what "say that again"
    repeats."""

    handovers: tuple[ToolOutcome, ...] = ()
    """Handoffs into this agent as the cascade writes them into its history (a system message "Handed over
    from <agent>: <reason>"), each with the caller's request before it in `asked_by`."""

    caller_lines: tuple[str, ...] = ()
    """Everything the caller said that this agent's history holds (their own words, not relayed ones), oldest
    first: details given earlier, to this agent or before a handoff, are not asked for again."""
    handed_over_now: bool = False
    """The newest message is a handover note: this agent was just handed the call and is asked to act on the
    request that caused the handoff, before the caller says anything more."""

    def handover_to(self, agent: str) -> ToolOutcome | None:
        """The newest handoff into `agent` (the caller's request that caused it is in `asked_by`): a handoff
        tool's result in this history, or the cascade's handover note."""
        for outcome in reversed(self.outcomes):
            if outcome.ok and outcome.output.get("handoff_to") == agent:
                return outcome
        return self.handovers[-1] if self.handovers else None

    def next_call_ids(self, count: int) -> list[str]:
        """`call_<n>` ids not used anywhere in the history."""
        ids: list[str] = []
        n = len(self.call_ids) + 1
        while len(ids) < count:
            candidate = f"call_{n}"
            if candidate not in self.call_ids:
                ids.append(candidate)
            n += 1
        return ids

    def succeeded(self, name: str, **args: Any) -> bool:
        """Whether `name` ran successfully with these argument values, as the caller said them or in the
        canonical form its result returned ("215566" looked up as "RE-215566")."""
        return any(
            o.ok and o.name == name and all(v in (o.args.get(k), o.output.get(k)) for k, v in args.items())
            for o in self.outcomes
        )

    def reference(self, param: str, *, consumer: str) -> Any:
        """A value for an id parameter from earlier results, newest first: `next_<param>` (the next item to
        work on), then `<param>` of another tool's result, then the first item of a result list."""
        for outcome in reversed(self.outcomes):
            if not outcome.ok:
                continue
            output = outcome.output
            if f"next_{param}" in output:
                return output[f"next_{param}"]
            if outcome.name != consumer and output.get(param) is not None:
                return output[param]
            for value in output.values():
                if isinstance(value, list) and value and isinstance(value[0], Mapping) and param in value[0]:
                    return value[0][param]
        return None

    def known_values(self, names: frozenset[str]) -> dict[str, Any]:
        """Values of `names` that successful calls used or returned (newest wins)."""
        known: dict[str, Any] = {}
        for outcome in self.outcomes:
            if not outcome.ok:
                continue
            for source in (outcome.args, outcome.output):
                for key in names & source.keys():
                    if source[key] not in (None, ""):
                        known[key] = source[key]
        return known


def text_of(message: Message) -> str:
    """A message's text: a string content, or the text parts of a content list."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            str(p.get("text", "")) for p in content if isinstance(p, Mapping) and p.get("type") == "text"
        )
    return ""


def _tool_calls(message: Message) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for call in message.get("tool_calls") or ():
        if not isinstance(call, Mapping):
            continue
        function = call.get("function") or {}
        raw = function.get("arguments") or "{}"
        try:
            args = json.loads(raw) if isinstance(raw, str) else dict(raw)
        except (ValueError, TypeError):
            args = {}
        yield str(call.get("id", "")), str(function.get("name", "")), args if isinstance(args, dict) else {}


def _outcome(call_id: str, name: str, args: dict[str, Any], content: str, asked_by: str = "") -> ToolOutcome:
    try:
        body = json.loads(content) if content else {}
    except ValueError:
        body = {"ok": True, "result": content}
    if not isinstance(body, dict):
        body = {"ok": True, "result": body}
    ok = bool(body.get("ok", "error" not in body))
    raw_error = body.get("error")
    error: Mapping[str, Any] = raw_error if isinstance(raw_error, Mapping) else {}
    output = {k: v for k, v in body.items() if k not in ("ok", "error")}
    return ToolOutcome(
        call_id=call_id,
        name=name,
        args=args,
        ok=ok,
        output=output,
        error_type=str(error.get("type", "")),
        error_message=str(error.get("message", "")),
        asked_by=asked_by,
    )


_ACKNOWLEDGEMENTS = frozenset({"Sure, take your time."})
"""Replies that hold the floor without content (meta_turn.HOLD_ON)."""
_QUESTION_RE = re.compile(r"[^.!?]*\?")
_HANDED_OVER = re.compile(r"^Handed over from (\S+): (.*)$", re.DOTALL)
_RELAYED = re.compile(r"^\[[\w-]+ said\] ")


_ANSWERED_BEFORE = re.compile(r"^(?:yes|yeah|yep|sure|no|nope|nah|not (?:yet|now))\b[^.!?]*[.!?]\s*$")
"""A line's opening sentence that answered the agent's question, before the request a handoff carries."""


def _carried(reason: str, caller_lines: Sequence[str]) -> str | None:
    """The request a handoff carries when its reason quotes the caller's own words from an earlier line (a
    second request asked in the same breath as another, handed over once the first was answered)."""
    quoted = " ".join(reason.lower().split())
    if len(quoted.split()) < 3 or not caller_lines:
        return None
    last = " ".join(caller_lines[-1].lower().split())
    if quoted in last:
        if _ANSWERED_BEFORE.match(last[: last.index(quoted)]):
            return reason  # "yes, regular shipping. oh, and <request>": the answer stayed where it was asked
        return None  # said just now: the whole line is the request, as it always was
    return reason if any(quoted in " ".join(line.lower().split()) for line in caller_lines[:-1]) else None


def read_conversation(messages: Sequence[Message]) -> DialogReading:
    calls: dict[str, tuple[str, dict[str, Any]]] = {}
    asked_by: dict[str, str] = {}
    outcomes: list[ToolOutcome] = []
    unanswered: list[ToolOutcome] = []
    last_spoken: str | None = None
    last_content: str | None = None
    last_user: str | None = None
    latest_user: str | None = None
    caller_said = ""  # the caller's own last words (not another agent's, relayed as "[agent said] ...")
    caller_lines: list[str] = []
    handovers: list[ToolOutcome] = []
    for index, message in enumerate(messages):
        role = message.get("role")
        if role == "user":
            last_user = latest_user = as_heard(text_of(message))
            unanswered = []
            if not _RELAYED.match(latest_user):
                caller_said = latest_user
                caller_lines.append(latest_user)
        elif role == "system" and (note := _HANDED_OVER.match(text_of(message))):
            handovers.append(
                ToolOutcome(
                    call_id=f"handover-{index}",
                    name="handover",
                    args={"from": note.group(1)},
                    ok=True,
                    asked_by=_carried(note.group(2), caller_lines) or caller_said or note.group(2),
                )
            )
        elif role == "assistant":
            last_user = None
            spoken = text_of(message).strip()
            if spoken:
                last_spoken, unanswered = spoken, []
                if spoken not in _ACKNOWLEDGEMENTS:
                    last_content = spoken
            for call_id, name, args in _tool_calls(message):
                calls[call_id] = (name, args)
                asked_by[call_id] = _carried(str(args.get("reason", "")), caller_lines) or latest_user or ""
        elif role == "tool":
            last_user = None
            call_id = str(message.get("tool_call_id", ""))
            name, args = calls.get(call_id, (str(message.get("name", "")), {}))
            outcome = _outcome(call_id, name, args, text_of(message), asked_by.get(call_id, ""))
            outcomes.append(outcome)
            unanswered.append(outcome)
    last_role = messages[-1].get("role") if messages else None
    questions = _QUESTION_RE.findall(last_spoken or "")
    return DialogReading(
        last_user=last_user if last_role == "user" else None,
        latest_user=latest_user,
        unanswered=tuple(unanswered) if last_role == "tool" else (),
        last_question=questions[-1].strip() if questions else None,
        outcomes=tuple(outcomes),
        call_ids=frozenset(calls),
        last_spoken=last_spoken,
        last_content=last_content,
        handovers=tuple(handovers),
        caller_lines=tuple(caller_lines),
        handed_over_now=bool(handovers) and handovers[-1].call_id == f"handover-{len(messages) - 1}",
    )
