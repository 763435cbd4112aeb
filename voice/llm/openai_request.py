"""Building one streaming chat completions request from a `ChatRequest` through the `openai` SDK."""

from __future__ import annotations

import contextlib
from typing import Any, Literal, cast

import openai
from openai import AsyncOpenAI

from voice.llm.base import ChatRequest

TokenLimitParam = Literal["max_tokens", "max_completion_tokens"]
"""Which parameter carries `request.model.max_tokens`: see the `openai_chat` module docstring."""


def open_stream(
    client: AsyncOpenAI, request: ChatRequest, model: str, token_limit_param: TokenLimitParam
) -> contextlib.AbstractAsyncContextManager[Any]:
    """The request as an unopened streaming response: entering it sends the request and waits for the
    response headers; the body is then read raw (see `openai_wire`)."""
    limit = request.model.max_tokens
    tools = [spec.openai_tool() for spec in request.tools]
    return client.chat.completions.with_streaming_response.create(
        model=model,
        messages=cast(Any, list(request.messages)),
        stream=True,
        stream_options={"include_usage": True},
        temperature=request.model.temperature,
        max_tokens=limit if token_limit_param == "max_tokens" else openai.omit,
        max_completion_tokens=limit if token_limit_param == "max_completion_tokens" else openai.omit,
        tools=cast(Any, tools) if tools else openai.omit,
        tool_choice="auto" if tools else openai.omit,
    )
