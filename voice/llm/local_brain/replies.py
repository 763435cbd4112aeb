"""Spoken replies from tool results, and the event stream the brain emits.

Stream contract (the same as the Azure OpenAI provider's): zero or more `TextDelta`s (the reply in groups of a
few words, so the cascade's clause chunking and TTS start work as they would with a real LLM), then the
`ToolCall`s if any, then one `Usage`, then exactly one `ChatDone` ("tool_calls" when there are calls, else
"stop"). `Usage` carries word counts, not tokens: prompt = words in the request's messages, completion =
words of the reply plus the tool-call arguments.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from registries.templates import render_text
from registries.toolstore.decorator import ToolSpec
from voice.expectation import Expectation
from voice.llm.base import ChatDone, ChatEvent, Message, TextDelta, ToolCall, Usage
from voice.llm.local_brain.dialog import text_of
from voice.llm.local_brain.params import unwrap

log = logging.getLogger(__name__)

GENERIC_DONE = "All right, that's done."
REPLACEMENT_OFFER = "Would you like me to order a replacement card?"
WORDS_PER_DELTA = 4


def with_defaults(spec: ToolSpec | None, args: Mapping[str, Any]) -> dict[str, Any]:
    """The arguments as the catalog validated them: schema defaults filled in (templates read `args.x`)."""
    full = dict(args)
    if spec is not None:
        for name, prop in spec.parameters.get("properties", {}).items():
            prop = unwrap(prop)
            if name not in full and "default" in prop:
                full[name] = prop["default"]
    return full


def offer_after(output: Mapping[str, Any], *, can_replace: bool) -> str:
    """The offer a result calls for that its own reply does not make: a card locked on the way (a charge reported
    as fraud) with nothing left to review is offered its replacement, as a card locked on purpose is."""
    if can_replace and output.get("card_locked") is True and not output.get("remaining"):
        return REPLACEMENT_OFFER
    return ""


def render_reply(spec: ToolSpec | None, output: Mapping[str, Any], args: Mapping[str, Any]) -> str:
    """What to say after a successful call: the tool's `reply` template rendered exactly as the catalog does
    (`{**output, "args": args}`), else a short generic confirmation."""
    if spec is None or not spec.reply:
        return GENERIC_DONE
    try:
        text = render_text(
            spec.reply, {**output, "args": with_defaults(spec, args)}, collapse_whitespace=True
        )
    except Exception as exc:  # a template bug ends at a generic sentence, never the turn
        log.warning(
            "tool reply failed to render", extra={"tool": spec.name, "error_type": type(exc).__name__}
        )
        return GENERIC_DONE
    return text or GENERIC_DONE


def word_groups(text: str, size: int = WORDS_PER_DELTA) -> list[str]:
    """`text` cut after every `size` words; the pieces concatenate back to `text` exactly."""
    words = text.split(" ")
    return [
        " ".join(words[i : i + size]) + (" " if i + size < len(words) else "")
        for i in range(0, len(words), size)
    ]


def _words(text: str) -> int:
    return len(text.split())


def events(
    text: str,
    calls: Sequence[tuple[str, str, Mapping[str, Any]]],
    messages: Sequence[Message],
    expects: Expectation | None = None,
) -> Iterator[ChatEvent]:
    """The stream for one decision: `calls` are (id, tool name, arguments); `expects`, what the text asks for."""
    text = " ".join(text.split())
    if text:
        for piece in word_groups(text):
            yield TextDelta(piece)
    completion = _words(text)
    for call_id, name, args in calls:
        arguments = json.dumps(dict(args), ensure_ascii=False)
        completion += _words(arguments)
        yield ToolCall(id=call_id, name=name, arguments=arguments)
    yield Usage(prompt_tokens=sum(_words(text_of(m)) for m in messages), completion_tokens=completion)
    yield ChatDone("tool_calls" if calls else "stop", expects=None if calls else expects)
