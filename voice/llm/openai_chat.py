"""Azure OpenAI and OpenAI (or any OpenAI-compatible server) as a streaming `ChatModel`.

The `openai` SDK builds and authenticates the request (`openai_request`) and turns HTTP errors into
exceptions; the SSE body is read here through `with_streaming_response`, decoded and parsed by `openai_wire`
and folded into events by `openai_assembly`. Failures become `openai_errors.OpenAIChatError`.

One SDK client per provider instance: it holds only configuration and an HTTP connection pool (reusing a
warm connection saves a TLS handshake per turn); all per-reply state lives inside `stream()`.

Choices worth knowing:
- `max_tokens`, not `max_completion_tokens`, by default: every non-reasoning chat model accepts it on every
  Azure api-version and on OpenAI-compatible servers (vLLM, Ollama, LM Studio), while `max_completion_tokens`
  needs a recent Azure api-version. Reasoning models (o-series) reject `max_tokens`: set
  `token_limit_param="max_completion_tokens"` for those deployments.
- SDK retries default to 0: a retry sleeps 0.5-8 s (or Retry-After) while the caller hears dead air; the
  fallback chain (`voice.fallback`) moves to the next provider at once instead.
- Deadlines (`openai_deadlines`) bound the first token, the gap between chunks, and the whole reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import Any, Self, cast

import httpx2  # the transport of openai 3.x: raw body reads raise its errors, not the SDK's
import openai
from openai import AsyncAzureOpenAI, AsyncOpenAI
from pydantic import ValidationError

from voice.llm.base import ChatEvent, ChatRequest
from voice.llm.openai_assembly import ReplyAssembler
from voice.llm.openai_deadlines import ChatTimeouts, Deadlines, sdk_timeout
from voice.llm.openai_errors import OpenAIChatError, StreamFailed, describe_failure
from voice.llm.openai_request import TokenLimitParam, open_stream
from voice.llm.openai_wire import SseDecoder, parse_chunk
from voice.usage.amounts import UsageAmounts
from voice.usage.ledger import current_ledger

log = logging.getLogger(__name__)

TokenProvider = Callable[[], "str | Awaitable[str]"]
"""Returns a Microsoft Entra ID bearer token (managed identity) for Azure, instead of an API key."""

_DRAIN_S = 0.1
"""After `data: [DONE]`, how long we read on to the end of the body so the connection can be reused."""


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
            timeout=sdk_timeout(timeouts),
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
            timeout=sdk_timeout(timeouts),
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

    async def stream(self, request: ChatRequest) -> AsyncGenerator[ChatEvent, None]:
        model = request.model.deployment or self._default_model
        reply = ReplyAssembler()
        ledger = current_ledger()
        try:
            async for event in self._stream(request, model, reply):
                yield event
        finally:
            if ledger is not None:
                ledger.record(self.name, model, _usage_of(reply), agent=request.agent)

    async def _stream(
        self, request: ChatRequest, model: str, reply: ReplyAssembler
    ) -> AsyncGenerator[ChatEvent, None]:
        limits = Deadlines(self._timeouts)
        # The exit stack closes the HTTP response on every way out: end, error, timeout, and the consumer
        # cancelling or closing us mid-reply (barge-in), so the server stops generating.
        async with contextlib.AsyncExitStack() as stack:
            try:
                opening = open_stream(self._client, request, model, self._token_limit_param)
                response = await limits.run(stack.enter_async_context(opening), started=False)
            except (TimeoutError, openai.OpenAIError) as exc:
                raise self._error(exc, request, model, limits) from exc
            body = await stack.enter_async_context(contextlib.aclosing(response.iter_bytes()))
            sse = SseDecoder()
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
                        chunk = parse_chunk(data)
                    except (ValidationError, StreamFailed) as exc:
                        raise self._error(exc, request, model, limits, started=reply.started) from exc
                    for delta in reply.feed(chunk):
                        yield delta
            if not saw_done and reply.finish_reason is None:  # cut short, or not an SSE body at all
                failure = StreamFailed("the body ended before the reply did")
                raise self._error(failure, request, model, limits, started=reply.started)
            # (A finished reply without [DONE] is accepted: some compatible servers omit it.)
            for event in reply.finish():
                yield event
            # Only now, so tool calls never wait on it: read to the end of the body (bounded) so the
            # connection goes back to the pool and the next turn skips a TLS handshake.
            await _drain(body)

    def _error(
        self,
        exc: BaseException,
        request: ChatRequest,
        model: str,
        limits: Deadlines,
        *,
        started: bool = False,
    ) -> OpenAIChatError:
        error = describe_failure(self.name, exc, model=model, limits=limits, started=started)
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


async def _drain(body: AsyncIterator[bytes]) -> None:
    # After [DONE] the body ends at once; bounded so a server that keeps it open cannot hold us.
    with contextlib.suppress(TimeoutError, httpx2.HTTPError):
        async with asyncio.timeout(_DRAIN_S):
            async for _ in body:
                pass


def _usage_of(reply: ReplyAssembler) -> UsageAmounts:
    """One request's usage from the stream's usage chunk (we ask for it with `include_usage`). A reply cut
    short (barge-in, failure) before that chunk is one request of unknown usage: the server may still bill
    it, and we do not guess how much."""
    usage = reply.usage
    if usage is None:
        return UsageAmounts(requests=1, unknown_events=1)
    return UsageAmounts(
        requests=1,
        input_tokens=usage.prompt_tokens,
        cached_input_tokens=min(usage.cached_tokens, usage.prompt_tokens),
        output_tokens=usage.completion_tokens,
    )
