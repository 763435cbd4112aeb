"""Failures of an OpenAI chat request as one `OpenAIChatError`: a short, credential-free message and what a
fallback policy needs (HTTP status, retryable, Retry-After), whether the SDK, the transport, a deadline or
the stream itself failed."""

from __future__ import annotations

from collections.abc import Mapping

import httpx2  # the transport of openai 3.x: raw body reads raise its errors, not the SDK's
import openai
from pydantic import ValidationError

from voice.errors import ProviderError
from voice.llm.openai_deadlines import Deadlines


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


class StreamFailed(Exception):
    """An `error` object inside a 200 stream (or a body that ended too soon); `describe_failure` reports it
    as a retryable failure like a dropped connection."""

    def __init__(self, error: object) -> None:
        super().__init__(_error_detail(error, "unknown error"))


def describe_failure(
    provider: str, exc: BaseException, *, model: str, limits: Deadlines, started: bool
) -> OpenAIChatError:
    """The `OpenAIChatError` for whatever a request raised (`started`: some of the reply had arrived)."""
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
    if isinstance(exc, StreamFailed):
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
