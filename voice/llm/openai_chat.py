"""Azure OpenAI and OpenAI (or any OpenAI-compatible server) as a streaming `ChatModel`.

The `openai` SDK builds and authenticates the request and turns HTTP errors into exceptions; the SSE body is
read here through `with_streaming_response` and parsed with our own lenient pydantic chunk models. Why: the
SDK's `AsyncStream` builds a full `ChatCompletionChunk` per token (about 200 us of CPU each), ours validates
only the fields we use (about 5 us), which matters at 100 calls per core.

One SDK client per provider instance: it holds only configuration and an HTTP connection pool (reusing a
warm connection saves a TLS handshake per turn); all per-reply state lives inside `stream()`.

Choices worth knowing:
- `max_tokens`, not `max_completion_tokens`, by default: every non-reasoning chat model accepts it on every
  Azure api-version and on OpenAI-compatible servers (vLLM, Ollama, LM Studio), while `max_completion_tokens`
  needs a recent Azure api-version. Reasoning models (o-series) reject `max_tokens`: set
  `token_limit_param="max_completion_tokens"` for those deployments.
- SDK retries default to 0: a retry sleeps 0.5-8 s (or Retry-After) while the caller hears dead air; the
  fallback chain (`voice.fallback`) moves to the next provider at once instead.
- Deadlines are enforced here with `asyncio.timeout` around each await on the network (never around a
  `yield`, so a deadline can never fire inside the consumer's code): the first token, the gap between
  chunks, and the whole reply. The SDK's own HTTP timeout is only a backstop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Self, TypeVar, cast

import httpx2  # the transport of openai 3.x: raw body reads raise its errors, not the SDK's
import openai
from openai import AsyncAzureOpenAI, AsyncOpenAI
from pydantic import BaseModel, ConfigDict, ValidationError

from voice.errors import ProviderError
from voice.llm.base import ChatDone, ChatEvent, ChatRequest, TextDelta, ToolCall, Usage

log = logging.getLogger(__name__)
_T = TypeVar("_T")

TokenLimitParam = Literal["max_tokens", "max_completion_tokens"]
TokenProvider = Callable[[], "str | Awaitable[str]"]
"""Returns a Microsoft Entra ID bearer token (managed identity) for Azure, instead of an API key."""

_DRAIN_S = 0.1
"""After `data: [DONE]`, how long we read on to the end of the body so the connection can be reused."""


@dataclass(frozen=True, slots=True)
class ChatTimeouts:
    """Deadlines for one reply, in seconds, counted only while waiting on the provider (not while the
    consumer handles an event). A hit raises a retryable `OpenAIChatError`, so the chain falls back."""

    connect_s: float = 3.0
    first_token_s: float = 8.0
    """From the request to the first text or tool-call fragment (time to response headers included)."""
    idle_s: float = 5.0
    """Longest silence between chunks once the reply has started."""
    total_s: float = 30.0
    """The whole reply."""


class OpenAIChatError(ProviderError):
    """A failed chat request, with what a fallback policy needs. The message never contains credentials."""

    def __init__(
        self,
        provider: str,
        message: str,
        *,
        status: int | None = None,
        retryable: bool = False,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(provider, message)
        self.status = status
        self.retryable = retryable
        """Worth trying again later (rate limit, 5xx, timeout, network); False for 4xx like 401/404/400."""
        self.retry_after_s = retry_after_s


# -- wire shapes we read (lenient: unknown fields such as Azure's filter results are ignored) --------------


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _FunctionDelta(_Wire):
    name: str | None = None
    arguments: str | None = None


class _ToolCallDelta(_Wire):
    index: int | None = None
    id: str | None = None
    function: _FunctionDelta | None = None


class _Delta(_Wire):
    content: str | None = None
    tool_calls: list[_ToolCallDelta] | None = None


class _Choice(_Wire):
    index: int | None = 0
    delta: _Delta | None = None  # Azure's content-filter annotation chunks carry no delta
    finish_reason: str | None = None


class _Usage(_Wire):
    prompt_tokens: int | None = 0
    completion_tokens: int | None = 0


class _Chunk(_Wire):
    choices: list[_Choice] | None = None  # empty in Azure's prompt-filter chunk and in the usage chunk
    usage: _Usage | None = None
    error: Any = None  # `{"error": {...}}` inside a 200 stream: the server failed mid-generation


# ---------------------------------------------------------------------------------------------------------


class OpenAIChatModel:
    """`ChatModel` over the chat completions streaming API (Azure OpenAI or OpenAI-compatible)."""

    def __init__(
        self,
        client: AsyncOpenAI,
        *,
        name: str,
        default_model: str,
        timeouts: ChatTimeouts | None = None,
        token_limit_param: TokenLimitParam = "max_tokens",
        secret: str | None = None,
    ) -> None:
        self.name = name
        self._client = client
        self._default_model = default_model
        self._timeouts = timeouts or ChatTimeouts()
        self._token_limit_param = token_limit_param
        self._secret = secret  # only to scrub it from any error text a server echoes back

    @classmethod
    def azure(
        cls,
        *,
        endpoint: str,
        api_version: str,
        deployment: str,
        api_key: str | None = None,
        token_provider: TokenProvider | None = None,
        timeouts: ChatTimeouts | None = None,
        max_retries: int = 0,
        token_limit_param: TokenLimitParam = "max_tokens",
    ) -> Self:
        """Azure OpenAI: `{endpoint}/openai/deployments/{deployment}/chat/completions?api-version=...`.

        `deployment` is the default; `request.model.deployment` overrides it per agent (the SDK puts the
        request's `model` in the path). Authenticate with `api_key` or an Entra ID `token_provider`."""
        if (api_key is None) == (token_provider is None):
            raise ValueError("pass exactly one of api_key or token_provider")
        timeouts = timeouts or ChatTimeouts()
        client = AsyncAzureOpenAI(
            azure_endpoint=endpoint,
            api_version=api_version,
            api_key=api_key,
            azure_ad_token_provider=cast(Any, token_provider),
            timeout=_sdk_timeout(timeouts),
            max_retries=max_retries,
        )
        return cls(
            client,
            name="azure-openai",
            default_model=deployment,
            timeouts=timeouts,
            token_limit_param=token_limit_param,
            secret=api_key,
        )

    @classmethod
    def openai(
        cls,
        *,
        api_key: str,
        model: str,
        base_url: str | None = None,
        timeouts: ChatTimeouts | None = None,
        max_retries: int = 0,
        token_limit_param: TokenLimitParam = "max_tokens",
        name: str = "openai",
    ) -> Self:
        """OpenAI, or any OpenAI-compatible server at `base_url` (e.g. `http://localhost:8000/v1`)."""
        timeouts = timeouts or ChatTimeouts()
        client = AsyncOpenAI(
            api_key=api_key,
            base_url=base_url,
            timeout=_sdk_timeout(timeouts),
            max_retries=max_retries,
        )
        return cls(
            client,
            name=name,
            default_model=model,
            timeouts=timeouts,
            token_limit_param=token_limit_param,
            secret=api_key,
        )

    async def aclose(self) -> None:
        """Close the connection pool (on shutdown)."""
        await self._client.close()

    async def stream(self, request: ChatRequest) -> AsyncIterator[ChatEvent]:
        model = request.model.deployment or self._default_model
        limits = _Deadlines(self._timeouts)
        reply = _ReplyAssembler()
        # The exit stack closes the HTTP response on every way out: end, error, timeout, and the consumer
        # cancelling or closing us mid-reply (barge-in), so the server stops generating.
        async with contextlib.AsyncExitStack() as stack:
            try:
                response = await limits.run(
                    stack.enter_async_context(self._open(request, model)), started=False
                )
            except (TimeoutError, openai.OpenAIError) as exc:
                raise self._error(exc, request, model, limits) from exc
            body = await stack.enter_async_context(contextlib.aclosing(response.iter_bytes()))
            sse = _SseDecoder()
            ended = saw_done = False
            while not (ended or saw_done):
                # One deadline per network read (not per event): a read often holds several events.
                try:
                    received = await limits.run(anext(body, None), started=reply.started)
                except (TimeoutError, httpx2.HTTPError) as exc:
                    raise self._error(exc, request, model, limits, started=reply.started) from exc
                ended = received is None
                for data in sse.end() if received is None else sse.feed(received):
                    if data == b"[DONE]":
                        saw_done = True
                        break
                    try:
                        chunk = _parse_chunk(data)
                    except (ValidationError, _StreamFailed) as exc:
                        raise self._error(exc, request, model, limits, started=reply.started) from exc
                    for delta in reply.feed(chunk):
                        yield delta
            if not saw_done and reply.finish_reason is None:  # cut short, or not an SSE body at all
                exc = _StreamFailed("the body ended before the reply did")
                raise self._error(exc, request, model, limits, started=reply.started)
            # (A finished reply without [DONE] is accepted: some compatible servers omit it.)
            for event in reply.finish():
                yield event
            # Only now, so tool calls never wait on it: read to the end of the body (bounded) so the
            # connection goes back to the pool and the next turn skips a TLS handshake.
            await _drain(body)

    def _open(self, request: ChatRequest, model: str) -> contextlib.AbstractAsyncContextManager[Any]:
        limit = request.model.max_tokens
        tools = [spec.openai_tool() for spec in request.tools]
        return self._client.chat.completions.with_streaming_response.create(
            model=model,
            messages=cast(Any, list(request.messages)),
            stream=True,
            stream_options={"include_usage": True},
            temperature=request.model.temperature,
            max_tokens=limit if self._token_limit_param == "max_tokens" else openai.omit,
            max_completion_tokens=limit
            if self._token_limit_param == "max_completion_tokens"
            else openai.omit,
            tools=cast(Any, tools) if tools else openai.omit,
            tool_choice="auto" if tools else openai.omit,
        )

    def _error(
        self,
        exc: BaseException,
        request: ChatRequest,
        model: str,
        limits: _Deadlines,
        *,
        started: bool = False,
    ) -> OpenAIChatError:
        error = _describe_failure(self.name, exc, model=model, limits=limits, started=started)
        if self._secret and len(self._secret) >= 8 and self._secret in error.message:  # short = test keys
            error = OpenAIChatError(
                self.name,
                error.message.replace(self._secret, "***"),
                status=error.status,
                retryable=error.retryable,
                retry_after_s=error.retry_after_s,
            )
        log.warning(
            "chat request failed",
            extra={
                "provider": self.name,
                "model": model,
                "call_id": request.call_id,
                "agent": request.agent,
                "status": error.status,
                "error": error.message,
            },
        )
        return error


# ---------------------------------------------------------------------------------------------------------


class _StreamFailed(Exception):
    """An `error` object inside a 200 stream."""

    def __init__(self, error: object) -> None:
        super().__init__(_error_detail(error, "unknown error"))


class _SseDecoder:
    """Server-sent events reduced to what chat completions use: the `data` of each event.

    Fed raw body bytes as they arrive; lines end in LF or CRLF. Comments (`: keep-alive`) and other fields
    (`event:`, `id:`) are ignored."""

    def __init__(self) -> None:
        self._partial = b""
        self._data: list[bytes] = []

    def feed(self, received: bytes) -> list[bytes]:
        """The data of every event completed by these bytes."""
        *lines, self._partial = (self._partial + received).split(b"\n")
        events: list[bytes] = []
        for line in lines:
            line = line.removesuffix(b"\r")
            if not line:
                if self._data:
                    events.append(b"\n".join(self._data))
                    self._data = []
            elif line.startswith(b"data:"):
                value = line[5:]
                self._data.append(value[1:] if value.startswith(b" ") else value)
        return events

    def end(self) -> list[bytes]:
        """At the end of the body: an event the server did not close with a blank line."""
        return self.feed(b"\n\n") if self._partial or self._data else []


def _parse_chunk(data: bytes) -> _Chunk:
    chunk = _Chunk.model_validate_json(data)
    if chunk.error is not None:
        raise _StreamFailed(chunk.error)
    return chunk


async def _drain(body: AsyncIterator[bytes]) -> None:
    # After [DONE] the body ends at once; bounded so a server that keeps it open cannot hold us.
    with contextlib.suppress(TimeoutError, httpx2.HTTPError):
        async with asyncio.timeout(_DRAIN_S):
            async for _ in body:
                pass


class _Deadlines:
    """Time budgets for one reply, counted only while we wait on the provider: a consumer that takes its
    time between events (speaking a sentence before reading on) does not eat into them."""

    def __init__(self, timeouts: ChatTimeouts) -> None:
        self.timeouts = timeouts
        self.waited_s = 0.0
        self.limit = ""
        """Which budget bounded the last wait, for the error message."""

    async def run(self, awaitable: Awaitable[_T], *, started: bool) -> _T:
        t = self.timeouts
        total_left = t.total_s - self.waited_s
        step, self.limit = (t.idle_s, "idle") if started else (t.first_token_s - self.waited_s, "first_token")
        if total_left <= step:
            step, self.limit = total_left, "total"
        loop = asyncio.get_running_loop()
        begin = loop.time()
        try:
            async with asyncio.timeout(max(0.0, step)):
                return await awaitable
        finally:
            self.waited_s += loop.time() - begin

    def describe_timeout(self) -> str:
        t = self.timeouts
        if self.limit == "first_token":
            return f"no first token within {t.first_token_s:g}s"
        if self.limit == "idle":
            return f"stream stalled: no chunk for {t.idle_s:g}s"
        return f"reply not finished within {t.total_s:g}s"


@dataclass(slots=True)
class _PendingCall:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _ReplyAssembler:
    """Folds chunks into events: text at once; tool calls (assembled by index) and usage at the end."""

    started: bool = False
    """Some output (text, a tool-call fragment or a finish reason) arrived: the first-token deadline is met."""
    finish_reason: str | None = None
    usage: Usage | None = None
    calls: dict[int, _PendingCall] = field(default_factory=dict)

    def feed(self, chunk: _Chunk) -> Iterator[TextDelta]:
        if chunk.usage is not None:
            self.usage = Usage(
                prompt_tokens=chunk.usage.prompt_tokens or 0,
                completion_tokens=chunk.usage.completion_tokens or 0,
            )
        for choice in chunk.choices or ():
            if choice.index:
                continue  # we never ask for n > 1
            if choice.finish_reason:
                self.finish_reason = choice.finish_reason
                self.started = True
            delta = choice.delta
            if delta is None:
                continue
            if delta.content:
                self.started = True
                yield TextDelta(delta.content)
            for fragment in delta.tool_calls or ():
                self.started = True
                self._add_fragment(fragment)

    def _add_fragment(self, fragment: _ToolCallDelta) -> None:
        index = fragment.index
        if index is None:  # some compatible servers omit it: a new id starts a new call
            last = max(self.calls, default=-1)
            new_call = last < 0 or (fragment.id is not None and fragment.id != self.calls[last].id)
            index = last + 1 if new_call else last
        call = self.calls.setdefault(index, _PendingCall())
        if fragment.id and not call.id:
            call.id = fragment.id
        if fragment.function is None:
            return
        if fragment.function.name and not call.name:
            call.name = fragment.function.name
        if fragment.function.arguments:
            call.arguments.append(fragment.function.arguments)

    def finish(self) -> Iterator[ChatEvent]:
        for index in sorted(self.calls):
            call = self.calls[index]
            yield ToolCall(
                id=call.id or f"call_{uuid.uuid4().hex[:24]}",
                name=call.name,
                arguments="".join(call.arguments) or "{}",  # a no-argument call may arrive with ""
            )
        if self.usage is not None:
            yield self.usage
        reason = self.finish_reason
        if self.calls and reason in (None, "stop"):
            reason = "tool_calls"  # a forced tool_choice answers "stop"; the cascade keys on this
        yield ChatDone(reason or "stop")


# -- errors ------------------------------------------------------------------------------------------------


def _sdk_timeout(timeouts: ChatTimeouts) -> openai.Timeout:
    # Backstop only (our asyncio deadlines are tighter); `read` bounds a single socket read.
    return openai.Timeout(timeouts.total_s, connect=timeouts.connect_s)


def _describe_failure(
    provider: str, exc: BaseException, *, model: str, limits: _Deadlines, started: bool
) -> OpenAIChatError:
    if isinstance(exc, TimeoutError):
        return OpenAIChatError(provider, f"timed out: {limits.describe_timeout()}", retryable=True)
    if isinstance(exc, openai.APITimeoutError | httpx2.TimeoutException):  # the HTTP client's backstop
        return OpenAIChatError(
            provider, f"timed out in the HTTP client after {limits.waited_s:.1f}s", retryable=True
        )
    if isinstance(exc, openai.APIStatusError):
        return _status_failure(provider, exc, model=model)
    if isinstance(exc, openai.APIConnectionError | httpx2.HTTPError):
        cause = (exc.__cause__ or exc.__context__) if isinstance(exc, openai.APIConnectionError) else exc
        reason = f"{type(cause).__name__}: {_short(cause)}" if cause is not None else "connection error"
        where = "mid-reply" if started else "before the reply"
        return OpenAIChatError(provider, f"connection failed {where} ({reason})", retryable=True)
    if isinstance(exc, _StreamFailed):
        return OpenAIChatError(provider, f"error in the stream: {exc}", retryable=True)
    if isinstance(exc, ValidationError):  # not JSON, or not a chat completion chunk
        return OpenAIChatError(
            provider, f"malformed chunk in the stream ({exc.errors()[0]['type']})", retryable=True
        )
    return OpenAIChatError(provider, f"{type(exc).__name__}: {_short(exc)}")


def _status_failure(provider: str, exc: openai.APIStatusError, *, model: str) -> OpenAIChatError:
    status = exc.status_code
    detail = _error_detail(exc.body, "")
    retry_after = _retry_after_s(exc.response.headers)
    retryable = status in (408, 409, 429) or status >= 500
    if status in (401, 403):
        # The server's text is dropped: OpenAI echoes part of the key in it.
        message = f"authentication failed (HTTP {status}): check the API key or token and the endpoint"
    elif status == 404:
        message = f"not found (HTTP 404): deployment or model {model!r}, or the api-version ({detail})"
    elif status == 429:
        wait = f", retry after {retry_after:g}s" if retry_after is not None else ""
        message = f"rate limited (HTTP 429{wait})"
    elif status >= 500:
        message = f"server error (HTTP {status}): {detail}"
    elif exc.code == "content_filter":
        message = f"prompt blocked by the content filter (HTTP {status})"
    else:
        message = f"request rejected (HTTP {status}): {detail}"
    return OpenAIChatError(provider, message, status=status, retryable=retryable, retry_after_s=retry_after)


def _error_detail(body: object, fallback: str) -> str:
    """`code: message` from an OpenAI error object (or a body holding one), short enough for a log line."""
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        if isinstance(inner, Mapping):
            code, message = inner.get("code"), inner.get("message")
            text = f"{code}: {message}" if code and message else str(message or code or "")
            return _short(text) or fallback
    return _short(body) if body else _short(fallback)


def _retry_after_s(headers: Mapping[str, str]) -> float | None:
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return float(value) * scale
        except ValueError:
            continue  # an HTTP date: rare, and the chain has its own cooldown
    return None


def _short(value: object, limit: int = 200) -> str:
    text = str(value) if value is not None else ""
    return text if len(text) <= limit else text[: limit - 3] + "..."
