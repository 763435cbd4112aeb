"""The OpenAI GA realtime dialect, translated to and from the beta dialect the session speaks.

Client -> server: a GA `session.update` nests audio settings (`audio.input.format/turn_detection/
transcription`, `audio.output.format/voice`) and names modalities `output_modalities`; `response.create`
likewise. Server -> client: GA renames the audio/text streaming events (`response.output_audio.delta`, ...),
announces items with `conversation.item.added` + `conversation.item.done` instead of
`conversation.item.created`, names assistant content `output_text` / `output_audio`, and nests the session
shape the same way as the request. Everything else is the same on both sides.
"""

from __future__ import annotations

import copy
from typing import Any, Literal

from apps.realtime_server.protocol import ProtocolError, server_event

Dialect = Literal["beta", "ga"]

_GA_EVENT_NAMES = {
    "response.audio.delta": "response.output_audio.delta",
    "response.audio.done": "response.output_audio.done",
    "response.audio_transcript.delta": "response.output_audio_transcript.delta",
    "response.audio_transcript.done": "response.output_audio_transcript.done",
    "response.text.delta": "response.output_text.delta",
    "response.text.done": "response.output_text.done",
}
_GA_FORMATS_IN = {"audio/pcm": "pcm16", "audio/pcmu": "g711_ulaw", "audio/pcma": "g711_alaw"}
_GA_RATES_OUT = {24000: "pcm16", 16000: "pcm16_16000hz", 8000: "pcm16_8000hz"}
_ASSISTANT_CONTENT = {"text": "output_text", "audio": "output_audio"}


# --- client (GA) -> beta ----------------------------------------------------------------------------------
def client_to_beta(event: Any) -> Any:
    """A decoded GA client event in beta terms (anything unrecognised passes through for the parser)."""
    if not isinstance(event, dict):
        return event
    kind = event.get("type")
    if kind == "session.update" and isinstance(event.get("session"), dict):
        return {**event, "session": session_to_beta(event["session"], event.get("event_id"))}
    if kind == "response.create" and isinstance(event.get("response"), dict):
        return {**event, "response": response_params_to_beta(event["response"])}
    return event


def _format(value: Any, where: str, event_id: Any) -> tuple[str, int]:
    if not isinstance(value, dict) or value.get("type") not in _GA_FORMATS_IN:
        raise ProtocolError(
            "invalid_value",
            f"{where} must be {{type: audio/pcm|audio/pcmu|audio/pcma}}",
            param=where,
            event_id=event_id if isinstance(event_id, str) else None,
        )
    name = _GA_FORMATS_IN[value["type"]]
    rate = value.get("rate", 24000) if name == "pcm16" else 8000
    if not isinstance(rate, int):
        raise ProtocolError("invalid_value", f"{where}.rate must be an integer", param=f"{where}.rate")
    return name, rate


def session_to_beta(session: dict[str, Any], event_id: Any = None) -> dict[str, Any]:
    if session.get("type", "realtime") != "realtime":
        raise ProtocolError(
            "unsupported_session_type", "only realtime sessions are supported", param="session.type"
        )
    out = {
        k: v
        for k, v in session.items()
        if k not in ("type", "audio", "output_modalities", "max_output_tokens")
    }
    if "output_modalities" in session:
        out["modalities"] = _modalities_to_beta(session["output_modalities"])
    if "max_output_tokens" in session:
        out["max_response_output_tokens"] = session["max_output_tokens"]
    audio = session.get("audio")
    if audio is None:
        return out
    if not isinstance(audio, dict):
        raise ProtocolError("invalid_value", "session.audio must be an object", param="session.audio")
    source = audio.get("input") or {}
    sink = audio.get("output") or {}
    if "format" in source:
        out["input_audio_format"], out["input_audio_sampling_rate"] = _format(
            source["format"], "session.audio.input.format", event_id
        )
        if out["input_audio_format"] != "pcm16":
            out.pop("input_audio_sampling_rate")
    if "turn_detection" in source:
        out["turn_detection"] = source["turn_detection"]
    if "transcription" in source:
        out["input_audio_transcription"] = source["transcription"]
    if "format" in sink:
        name, rate = _format(sink["format"], "session.audio.output.format", event_id)
        out["output_audio_format"] = _GA_RATES_OUT.get(rate, "pcm16") if name == "pcm16" else name
    if "voice" in sink:
        out["voice"] = sink["voice"]
    return out


def _modalities_to_beta(value: Any) -> Any:
    if isinstance(value, list) and all(isinstance(m, str) for m in value):
        return ["text"] if value == ["text"] else ["text", "audio"]
    return value  # the session's validation names the problem


def response_params_to_beta(params: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in params.items() if k not in ("output_modalities", "audio")}
    if "output_modalities" in params:
        out["modalities"] = _modalities_to_beta(params["output_modalities"])
    audio = params.get("audio")
    if isinstance(audio, dict) and isinstance(audio.get("output"), dict) and "voice" in audio["output"]:
        out["voice"] = audio["output"]["voice"]
    return out


# --- server (beta) -> GA ----------------------------------------------------------------------------------
def server_to_ga(event: dict[str, Any]) -> list[dict[str, Any]]:
    """One beta server event as the GA event(s) a GA client expects."""
    kind = event["type"]
    if kind in ("session.created", "session.updated"):
        return [{**event, "session": session_to_ga(event["session"])}]
    if kind == "conversation.item.created":
        item = item_to_ga(event["item"])
        added = server_event(
            "conversation.item.added", previous_item_id=event.get("previous_item_id"), item=item
        )
        if item.get("status") == "in_progress":
            return [added]
        done = server_event(
            "conversation.item.done", previous_item_id=event.get("previous_item_id"), item=item
        )
        return [added, done]
    if kind == "response.output_item.done":
        item = item_to_ga(event["item"])
        return [{**event, "item": item}, server_event("conversation.item.done", item=item)]
    if kind == "response.output_item.added":
        return [{**event, "item": item_to_ga(event["item"])}]
    if kind in ("response.created", "response.done"):
        return [{**event, "response": response_to_ga(event["response"])}]
    if kind in _GA_EVENT_NAMES:
        return [{**event, "type": _GA_EVENT_NAMES[kind]}]
    return [event]


def item_to_ga(item: dict[str, Any]) -> dict[str, Any]:
    if item.get("type") != "message" or item.get("role") != "assistant":
        return item
    item = copy.deepcopy(item)
    for part in item.get("content", []):
        part["type"] = _ASSISTANT_CONTENT.get(part.get("type"), part.get("type"))
    return item


def response_to_ga(response: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in response.items() if k not in ("modalities", "voice", "output_audio_format")}
    modalities = response.get("modalities") or ["audio"]
    out["output_modalities"] = ["audio"] if "audio" in modalities else ["text"]
    out["output"] = [item_to_ga(i) for i in response.get("output", [])]
    out["audio"] = {
        "output": {
            "format": _format_to_ga(response.get("output_audio_format", "pcm16")),
            "voice": response.get("voice"),
        }
    }
    return out


def _format_to_ga(name: str, rate: int | None = None) -> dict[str, Any]:
    if name == "g711_ulaw":
        return {"type": "audio/pcmu"}
    if name == "g711_alaw":
        return {"type": "audio/pcma"}
    rates = {"pcm16": 24000, "pcm16_16000hz": 16000, "pcm16_8000hz": 8000}
    return {"type": "audio/pcm", "rate": rate or rates.get(name, 24000)}


def session_to_ga(session: dict[str, Any]) -> dict[str, Any]:
    modalities = session.get("modalities") or ["text", "audio"]
    return {
        "type": "realtime",
        "object": "realtime.session",
        "id": session.get("id"),
        "model": session.get("model"),
        "instructions": session.get("instructions", ""),
        "output_modalities": ["audio"] if "audio" in modalities else ["text"],
        "audio": {
            "input": {
                "format": _format_to_ga(
                    session.get("input_audio_format", "pcm16"), session.get("input_audio_sampling_rate")
                ),
                "turn_detection": session.get("turn_detection"),
                "transcription": session.get("input_audio_transcription"),
                "noise_reduction": None,
            },
            "output": {
                "format": _format_to_ga(session.get("output_audio_format", "pcm16")),
                "voice": session.get("voice"),
                "speed": 1.0,
            },
        },
        "tools": session.get("tools", []),
        "tool_choice": session.get("tool_choice", "auto"),
        "max_output_tokens": session.get("max_response_output_tokens", "inf"),
    }
