"""A local OpenAI-compatible chat server (OpenAI and Azure OpenAI routes) for tests and benchmarks.

It speaks the real wire protocol so the real `openai` SDK can be pointed at it: streaming SSE
`chat.completion.chunk`s with tool-call deltas, the usage chunk, `data: [DONE]`, JSON error bodies, and on the
Azure route the Azure dialect (a `prompt_filter_results` chunk with empty `choices`, `content_filter_results`
on choices, and a trailing filter annotation chunk without `delta`).

Replies are scripted as a queue of turns; each request takes the next one (or `default_turn`, e.g. for a
benchmark). Every request is recorded, including whether the client went away before the reply ended.

    async with FakeOpenAIServer(api_key="k") as server:
        server.script(TextTurn("Hello there.", delay_s=0.02), ErrorTurn(429, retry_after_s=2))
        model = OpenAIChatModel.azure(endpoint=server.azure_endpoint, api_key="k", api_version="2024-10-21",
                                      deployment="gpt-4o")   # or AsyncAzureOpenAI / AsyncOpenAI(base_url=...)
        ...
        assert server.last.path == "/openai/deployments/gpt-4o/chat/completions"
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import time
import uuid
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, ValidationError, model_serializer

# ---------------------------------------------------------------------------------------------------------
# Request body (what we parse). Lenient: unknown fields are kept, so a test can assert on anything sent.


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow")


class WireFunctionCall(_Lenient):
    name: str
    arguments: str


class WireToolCall(_Lenient):
    id: str
    type: str = "function"
    function: WireFunctionCall


class WireMessage(_Lenient):
    role: str
    content: str | list[Any] | None = None
    name: str | None = None
    tool_calls: list[WireToolCall] | None = None
    tool_call_id: str | None = None


class WireFunction(_Lenient):
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None


class WireTool(_Lenient):
    type: str
    function: WireFunction


class WireStreamOptions(_Lenient):
    include_usage: bool = False


class ChatCompletionsBody(_Lenient):
    model: str | None = None
    messages: list[WireMessage]
    stream: bool = False
    stream_options: WireStreamOptions | None = None
    tools: list[WireTool] | None = None
    tool_choice: Any = None
    temperature: float | None = None
    max_tokens: int | None = None
    max_completion_tokens: int | None = None


# ---------------------------------------------------------------------------------------------------------
# Response chunks (what we send). Deltas drop their None fields, as OpenAI does; the envelope keeps its nulls.


class _Sparse(BaseModel):
    @model_serializer(mode="wrap")
    def _drop_none(self, handler: Any) -> dict[str, Any]:
        return {k: v for k, v in handler(self).items() if v is not None}


class FunctionDelta(_Sparse):
    name: str | None = None
    arguments: str | None = None


class ToolCallDelta(_Sparse):
    index: int
    id: str | None = None
    type: Literal["function"] | None = None
    function: FunctionDelta | None = None


class ChunkDelta(_Sparse):
    role: Literal["assistant"] | None = None
    content: str | None = None
    tool_calls: list[ToolCallDelta] | None = None


class ChunkChoice(BaseModel):
    index: int = 0
    delta: ChunkDelta
    logprobs: None = None
    finish_reason: str | None = None


class WirePromptTokensDetails(BaseModel):
    cached_tokens: int


class WireUsage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: WirePromptTokensDetails | None = None


class ChatCompletionChunk(BaseModel):
    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    system_fingerprint: str | None = "fp_fake"
    choices: list[ChunkChoice]
    usage: WireUsage | None = None


class WireError(BaseModel):
    message: str
    type: str | None = None
    param: str | None = None
    code: str | None = None


class ErrorBody(BaseModel):
    error: WireError


# Azure content-filter annotations: every category "safe". Shape per the Azure OpenAI REST reference.
_SAFE = {
    category: {"filtered": False, "severity": "safe"}
    for category in ("hate", "self_harm", "sexual", "violence")
}
_AZURE_PROMPT_FILTER_CHUNK = {
    "choices": [],
    "created": 0,
    "id": "",
    "model": "",
    "object": "",
    "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": _SAFE}],
}
_STREAM_ERROR = ErrorBody(
    error=WireError(
        message="The server had an error while processing your request. Sorry about that!",
        type="server_error",
    )
).model_dump(mode="json")


# ---------------------------------------------------------------------------------------------------------
# Scripted turns.


@dataclass(frozen=True, slots=True)
class ScriptedCall:
    name: str
    arguments: Mapping[str, Any] | str = field(default_factory=dict)
    """A mapping is sent as compact JSON; a string is sent verbatim (use it to script invalid JSON)."""
    id: str | None = None
    """Defaults to a fresh `call_...` id."""

    def arguments_text(self) -> str:
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(dict(self.arguments), separators=(",", ":"))


@dataclass(frozen=True, kw_only=True)
class _Streamed:
    delay_s: float = 0.0
    """Pause between content chunks (token pacing)."""
    first_delay_s: float = 0.0
    """Pause after the headers (and the Azure prompt-filter chunk) before the first model chunk: the TTFT."""
    stall_after: int | None = None
    """Stop sending (but keep the connection open, forever) after this many `data:` events; 0 = before the
    response headers."""
    disconnect_after: int | None = None
    """Drop the TCP connection mid-body (no terminating chunk) after this many `data:` events."""
    error_after: int | None = None
    """After this many `data:` events send an in-stream `{"error": ...}` event (a 200 stream that fails, as
    OpenAI and Azure do on a mid-generation server error) and end the body."""
    azure_filter: bool | None = None
    """Azure's content-filter chunks; None = on for the Azure route, off for the OpenAI route."""
    usage: tuple[int, int] | None = None
    """(prompt, completion) tokens for the usage chunk; None = estimated from the request and the reply."""
    cached_tokens: int | None = None
    """`prompt_tokens_details.cached_tokens` of the usage chunk (of the prompt tokens); None = not sent."""


@dataclass(frozen=True)
class TextTurn(_Streamed):
    text: str
    tokens: Sequence[str] | None = None
    """Explicit chunking; default: one chunk per word with its leading whitespace (like BPE tokens)."""
    finish_reason: str = "stop"

    def pieces(self) -> list[str]:
        return list(self.tokens) if self.tokens is not None else re.findall(r"\s*\S+", self.text)


@dataclass(frozen=True)
class ToolCallsTurn(_Streamed):
    calls: Sequence[ScriptedCall]
    text: str = ""
    """Content streamed before the calls (some models say something first)."""
    fragment_chars: int = 6
    """Argument JSON is sent in pieces of this many characters."""
    interleave: bool = False
    """Send the calls' argument fragments round-robin instead of one call after the other."""
    finish_reason: str = "tool_calls"


@dataclass(frozen=True, slots=True)
class ErrorTurn:
    status: int
    message: str = "scripted failure"
    code: str | None = None
    type: str | None = None
    retry_after_s: float | None = None
    """Sent as `retry-after` (seconds) and `retry-after-ms`, like Azure on 429."""
    delay_s: float = 0.0
    """Wait before answering."""


@dataclass(frozen=True)
class RawTurn:
    """Bytes sent verbatim as the body (for servers that bend the protocol: comments, no [DONE], garbage)."""

    body: bytes
    status: int = 200
    content_type: str = "text/event-stream"


Turn = TextTurn | ToolCallsTurn | ErrorTurn | RawTurn


@dataclass(slots=True)
class RecordedRequest:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    """Lower-cased names."""
    raw: Any
    body: ChatCompletionsBody | None
    peer: tuple[str, int] | None = None
    """The client's address and port: the same port on two requests means a reused connection."""
    deployment: str | None = None
    status: int | None = None
    """The HTTP status answered (None while the headers are not sent yet)."""
    completed: bool = False
    """The whole reply (through `data: [DONE]`) was written."""
    client_disconnected: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when the client closed the connection before the reply was complete."""


@dataclass(frozen=True, slots=True)
class ReportedUsage:
    """What one reply's usage chunk said."""

    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int


class _ServerDropped(Exception):
    """The script asked us to drop the connection."""


# ---------------------------------------------------------------------------------------------------------


class FakeOpenAIServer:
    """An aiohttp server on 127.0.0.1 (any free port by default), started and stopped in-process; or in its
    own process: `python -m tests.fakes.openai_server --port 8081 --first-delay-ms 300`.

    Azure route: `POST /openai/deployments/{deployment}/chat/completions?api-version=...` with `api-key`
    (or `Authorization: Bearer <azure_ad_token>`). OpenAI route: `POST /v1/chat/completions` with
    `Authorization: Bearer <api_key>`. Non-streaming requests (structured output, e.g. guidance) are answered
    from a queue of their own (`script_completions`): a `TextTurn`'s text as one `chat.completion` message
    after its `first_delay_s` (`stall_after=0`: never), or an `ErrorTurn`; none scripted: 400.
    """

    def __init__(
        self,
        *,
        api_key: str = "test-key",
        azure_ad_token: str | None = None,
        deployments: set[str] | None = None,
        model: str = "gpt-4o-mini-2024-07-18",
        default_turn: Turn | None = None,
        port: int = 0,
    ) -> None:
        self.api_key = api_key
        self.azure_ad_token = azure_ad_token
        self.deployments = deployments
        """Known Azure deployments; None accepts any."""
        self.model = model
        self.default_turn = default_turn
        """Served when the script is empty (benchmarks); None answers 500 "no scripted turn"."""
        self.requests: list[RecordedRequest] = []
        self.usage_reported: list[ReportedUsage] = []
        """Every usage chunk sent, in order (what a client's ledger should add up to)."""
        self._turns: deque[Turn] = deque()
        self._completion_turns: deque[TextTurn | ErrorTurn] = deque()
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._requested_port = port
        self._port: int | None = None
        self._closing = asyncio.Event()
        self._arrived = asyncio.Event()  # replaced after every request; waiters hold the old one

    # -- lifecycle --------------------------------------------------------------------------------------

    async def __aenter__(self) -> FakeOpenAIServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/openai/deployments/{deployment}/chat/completions", self._azure)
        app.router.add_post("/v1/chat/completions", self._openai)
        # handler_cancellation: a client that goes away cancels its handler, which is how we observe it.
        runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=1.0, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", self._requested_port)
        await site.start()
        self._port = int(runner.addresses[0][1])
        self._runner = runner

    async def stop(self) -> None:
        self._closing.set()  # releases stalled handlers
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def origin(self) -> str:
        if self._port is None:
            raise RuntimeError("server not started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def base_url(self) -> str:
        """For `AsyncOpenAI(base_url=...)`."""
        return f"{self.origin}/v1"

    @property
    def azure_endpoint(self) -> str:
        """For `AsyncAzureOpenAI(azure_endpoint=...)` (the SDK appends `/openai/...`)."""
        return self.origin

    # -- scripting --------------------------------------------------------------------------------------

    def script(self, *turns: Turn) -> None:
        """Queue replies; each request takes the next one."""
        self._turns.extend(turns)

    def script_completions(self, *turns: TextTurn | ErrorTurn) -> None:
        """Queue answers to non-streaming requests (kept apart from the streamed replies of calls)."""
        self._completion_turns.extend(turns)

    @property
    def pending_turns(self) -> int:
        return len(self._turns)

    @property
    def last(self) -> RecordedRequest:
        return self.requests[-1]

    async def wait_for_requests(self, count: int = 1, timeout_s: float = 5.0) -> None:
        """Until `count` requests have arrived (their bodies read): e.g. to barge in while the model thinks."""
        async with asyncio.timeout(timeout_s):
            while len(self.requests) < count:
                await self._arrived.wait()

    # -- routes -----------------------------------------------------------------------------------------

    async def _azure(self, request: web.Request) -> web.StreamResponse:
        record = await self._record(request)
        record.deployment = request.match_info["deployment"]
        if not request.query.get("api-version"):
            return self._error(record, 404, "Resource not found", code="404")
        key_ok = request.headers.get("api-key") == self.api_key
        token_ok = (
            self.azure_ad_token is not None
            and request.headers.get("authorization") == f"Bearer {self.azure_ad_token}"
        )
        if not (key_ok or token_ok):
            return self._error(
                record,
                401,
                "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a "
                "valid key for an active subscription and use a correct regional API endpoint for your resource.",
                code="401",
            )
        if self.deployments is not None and record.deployment not in self.deployments:
            return self._error(
                record,
                404,
                "The API deployment for this resource does not exist. If you created the deployment within "
                "the last 5 minutes, please wait a moment and try again.",
                code="DeploymentNotFound",
            )
        return await self._complete(request, record, azure=True)

    async def _openai(self, request: web.Request) -> web.StreamResponse:
        record = await self._record(request)
        auth = request.headers.get("authorization", "")
        if auth != f"Bearer {self.api_key}":
            presented = auth.removeprefix("Bearer ")
            masked = f"{presented[:3]}***{presented[-4:]}" if len(presented) > 8 else "***"
            return self._error(
                record,
                401,
                f"Incorrect API key provided: {masked}. You can find your API key at "
                "https://platform.openai.com/account/api-keys.",
                type="invalid_request_error",
                code="invalid_api_key",
            )
        return await self._complete(request, record, azure=False)

    async def _record(self, request: web.Request) -> RecordedRequest:
        text = await request.text()
        try:
            raw: Any = json.loads(text)
        except ValueError:
            raw = text
        try:
            body = ChatCompletionsBody.model_validate(raw)
        except ValidationError:
            body = None
        record = RecordedRequest(
            path=request.path,
            query=dict(request.query),
            headers={k.lower(): v for k, v in request.headers.items()},
            raw=raw,
            body=body,
            peer=request.transport.get_extra_info("peername") if request.transport else None,
        )
        self.requests.append(record)
        self._arrived.set()
        self._arrived = asyncio.Event()
        return record

    def _error(
        self,
        record: RecordedRequest,
        status: int,
        message: str,
        *,
        code: str | None = None,
        type: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> web.Response:
        record.status = status
        body = ErrorBody(error=WireError(message=message, type=type, code=code))
        return web.json_response(body.model_dump(mode="json"), status=status, headers=headers)

    async def _complete(
        self, request: web.Request, record: RecordedRequest, *, azure: bool
    ) -> web.StreamResponse:
        body = record.body
        if body is None:
            return self._error(record, 400, "invalid request body", type="invalid_request_error")
        if not body.stream:
            return await self._answer_whole(record)
        turn = self._turns.popleft() if self._turns else self.default_turn
        if turn is None:
            return self._error(record, 500, "no scripted turn left", type="server_error")
        if isinstance(turn, RawTurn):
            record.status = turn.status
            record.completed = True
            return web.Response(body=turn.body, status=turn.status, content_type=turn.content_type)
        if isinstance(turn, ErrorTurn):
            if turn.delay_s:
                await asyncio.sleep(turn.delay_s)
            headers = {}
            if turn.retry_after_s is not None:
                headers = {
                    "retry-after": str(max(1, round(turn.retry_after_s))),
                    "retry-after-ms": str(int(turn.retry_after_s * 1000)),
                }
            return self._error(
                record, turn.status, turn.message, code=turn.code, type=turn.type, headers=headers
            )
        return await self._stream(request, record, body, turn, azure=azure)

    async def _answer_whole(self, record: RecordedRequest) -> web.StreamResponse:
        if not self._completion_turns:
            return self._error(record, 400, "no scripted completion", type="invalid_request_error")
        turn = self._completion_turns.popleft()
        if isinstance(turn, ErrorTurn):
            await asyncio.sleep(turn.delay_s)
            return self._error(record, turn.status, turn.message, code=turn.code, type=turn.type)
        if turn.stall_after == 0:
            await self._closing.wait()
            raise asyncio.CancelledError
        await asyncio.sleep(turn.first_delay_s)
        record.status, record.completed = 200, True
        completion = {
            "id": f"chatcmpl-fake{next(self._ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.model,
            "system_fingerprint": "fp_fake",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": turn.text, "refusal": None},
                    "logprobs": None,
                    "finish_reason": turn.finish_reason,
                }
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
        return web.json_response(completion)

    async def _stream(
        self,
        request: web.Request,
        record: RecordedRequest,
        body: ChatCompletionsBody,
        turn: TextTurn | ToolCallsTurn,
        *,
        azure: bool,
    ) -> web.StreamResponse:
        events = self._events(body, turn, azure=azure)  # lazily: the first chunk must not wait for the last
        response = web.StreamResponse(
            status=200,
            headers={"content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache"},
        )
        sent = 0
        try:
            if turn.stall_after == 0:
                await self._closing.wait()
                raise _ServerDropped
            await response.prepare(request)
            record.status = 200
            for pause, payload in events:
                if turn.stall_after is not None and sent >= turn.stall_after:
                    await self._closing.wait()  # until the client leaves (handler cancelled) or we stop
                    raise _ServerDropped
                if turn.disconnect_after is not None and sent >= turn.disconnect_after:
                    raise _ServerDropped
                if turn.error_after is not None and sent >= turn.error_after:
                    await response.write(b"data: " + _encode(_STREAM_ERROR) + b"\n\n")
                    break
                if pause:
                    await asyncio.sleep(pause)
                await response.write(b"data: " + payload + b"\n\n")
                sent += 1
            await response.write_eof()
            record.completed = turn.error_after is None
            return response
        except _ServerDropped:
            if request.transport is not None:
                request.transport.abort()  # RST without the terminating chunk: a truncated body
            return response
        except (asyncio.CancelledError, ConnectionResetError):
            if not self._closing.is_set():
                record.client_disconnected.set()
            raise

    def _events(
        self, body: ChatCompletionsBody, turn: TextTurn | ToolCallsTurn, *, azure: bool
    ) -> Iterator[tuple[float, bytes]]:
        """(pause before it, encoded data) for every `data:` event of the reply."""
        azure_filter = azure if turn.azure_filter is None else turn.azure_filter
        chunk_id = f"chatcmpl-fake{next(self._ids)}"
        created = int(time.time())

        def chunk(delta: ChunkDelta, finish: str | None = None) -> bytes:
            payload = ChatCompletionChunk(
                id=chunk_id,
                created=created,
                model=self.model,
                choices=[ChunkChoice(delta=delta, finish_reason=finish)],
            ).model_dump(mode="json")
            if azure_filter:
                payload["choices"][0]["content_filter_results"] = _SAFE if delta.content else {}
            return _encode(payload)

        if azure_filter:
            yield 0.0, _encode(_AZURE_PROMPT_FILTER_CHUNK)
        yield turn.first_delay_s, chunk(ChunkDelta(role="assistant", content=""))
        completion = 0
        if isinstance(turn, TextTurn):
            pieces = turn.pieces()
        else:
            pieces = re.findall(r"\s*\S+", turn.text)
        for piece in pieces:
            completion += 1
            yield turn.delay_s, chunk(ChunkDelta(content=piece))
        if isinstance(turn, ToolCallsTurn):
            for delta in _tool_call_deltas(turn):
                completion += 1
                yield turn.delay_s, chunk(ChunkDelta(tool_calls=[delta]))
        yield 0.0, chunk(ChunkDelta(), finish=turn.finish_reason)
        if azure_filter:
            # Azure's trailing annotation: a choice with filter results and no `delta` at all.
            yield (
                0.0,
                _encode(
                    {
                        "choices": [{"index": 0, "finish_reason": None, "content_filter_results": _SAFE}],
                        "created": created,
                        "id": chunk_id,
                        "model": self.model,
                        "object": "chat.completion.chunk",
                    }
                ),
            )
        if body.stream_options is not None and body.stream_options.include_usage:
            prompt, completion = turn.usage or (_estimate_prompt_tokens(body), max(completion, 1))
            usage = ChatCompletionChunk(
                id=chunk_id,
                created=created,
                model=self.model,
                choices=[],
                usage=WireUsage(
                    prompt_tokens=prompt,
                    completion_tokens=completion,
                    total_tokens=prompt + completion,
                    prompt_tokens_details=None
                    if turn.cached_tokens is None
                    else WirePromptTokensDetails(cached_tokens=turn.cached_tokens),
                ),
            )
            self.usage_reported.append(ReportedUsage(prompt, completion, turn.cached_tokens or 0))
            yield 0.0, _encode(usage.model_dump(mode="json"))
        yield 0.0, b"[DONE]"


def _tool_call_deltas(turn: ToolCallsTurn) -> Iterator[ToolCallDelta]:
    """First a delta with id + name + empty arguments, then argument fragments, per call (indexed)."""
    per_call: list[list[ToolCallDelta]] = []
    for index, call in enumerate(turn.calls):
        call_id = call.id or f"call_{uuid.uuid4().hex[:24]}"
        args = call.arguments_text()
        size = max(1, turn.fragment_chars)
        deltas = [
            ToolCallDelta(
                index=index, id=call_id, type="function", function=FunctionDelta(name=call.name, arguments="")
            )
        ]
        deltas += [
            ToolCallDelta(index=index, function=FunctionDelta(arguments=args[i : i + size]))
            for i in range(0, len(args), size)
        ]
        per_call.append(deltas)
    if turn.interleave:
        for group in itertools.zip_longest(*per_call):
            yield from (d for d in group if d is not None)
    else:
        for deltas in per_call:
            yield from deltas


def _estimate_prompt_tokens(body: ChatCompletionsBody) -> int:
    # About four characters per token: enough for a plausible usage figure.
    return max(1, len(json.dumps(body.model_dump(mode="json", include={"messages", "tools"}))) // 4)


def _encode(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


async def _serve_forever(args: Any) -> None:
    turn = TextTurn(args.text, first_delay_s=args.first_delay_ms / 1000, delay_s=args.token_delay_ms / 1000)
    async with FakeOpenAIServer(api_key=args.api_key, default_turn=turn, port=args.port) as server:
        print(f"openai base_url={server.base_url} azure_endpoint={server.azure_endpoint}", flush=True)
        await asyncio.Event().wait()


def main() -> None:
    """Serve one repeating text reply, in its own process (so a benchmark's fake does not share its CPU)."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, default=0, help="0 = any free port (printed)")
    parser.add_argument("--api-key", default="test-key")
    parser.add_argument("--text", default="Sure, I can help you with that. What is your account number?")
    parser.add_argument("--first-delay-ms", type=float, default=300.0)
    parser.add_argument("--token-delay-ms", type=float, default=15.0)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_forever(parser.parse_args()))


if __name__ == "__main__":
    main()
