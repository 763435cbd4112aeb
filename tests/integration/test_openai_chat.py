"""The Azure OpenAI / OpenAI chat provider, through the real `openai` SDK, against a local server that speaks
the chat completions wire protocol (Azure dialect on the Azure route)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Literal

import pytest
from pydantic import BaseModel

from registries.agentstore.schema import ModelSpec
from registries.toolstore.decorator import ToolSpec, spec_of, tool
from tests.fakes.openai_server import (
    ErrorTurn,
    FakeOpenAIServer,
    RawTurn,
    ScriptedCall,
    TextTurn,
    ToolCallsTurn,
)
from voice.errors import ProviderError
from voice.llm.base import ChatDone, ChatEvent, ChatModel, ChatRequest, TextDelta, ToolCall, Usage
from voice.llm.openai_chat import OpenAIChatModel
from voice.llm.openai_deadlines import ChatTimeouts
from voice.llm.openai_errors import OpenAIChatError

API_KEY = "sk-test-0123456789abcdef"
API_VERSION = "2024-10-21"
HANG_GUARD_S = 5.0  # generous upper bound so a bug fails the test instead of hanging it

# Roomy deadlines for healthy replies (a loaded CI box must not trip them); short ones where a test waits
# for a deadline on purpose.
TIMEOUTS = ChatTimeouts(connect_s=2.0, first_token_s=3.0, idle_s=2.0, total_s=10.0)
QUICK = ChatTimeouts(connect_s=1.0, first_token_s=0.6, idle_s=0.4, total_s=3.0)


class Balance(BaseModel):
    amount: float


@tool(examples=["what is my balance"])
async def get_balance(account: Literal["checking", "savings"], currency: str = "USD") -> Balance:
    """Look up an account balance.

    Args:
        account: Which account.
        currency: ISO currency code.
    """
    return Balance(amount=12.5)


@tool(examples=["lock my card"])
async def lock_card(last4: str) -> Balance:
    """Lock the caller's card.

    Args:
        last4: Last four digits of the card.
    """
    return Balance(amount=0)


def _spec(fn: object) -> ToolSpec:
    spec = spec_of(fn)
    assert spec is not None
    return spec


TOOLS = (_spec(get_balance), _spec(lock_card))


@pytest.fixture
async def server() -> AsyncIterator[FakeOpenAIServer]:
    async with FakeOpenAIServer(api_key=API_KEY) as fake:
        yield fake


@pytest.fixture
async def azure(server: FakeOpenAIServer) -> AsyncIterator[OpenAIChatModel]:
    model = OpenAIChatModel.azure(
        endpoint=server.azure_endpoint,
        api_key=API_KEY,
        api_version=API_VERSION,
        deployment="gpt-4o-mini",
        timeouts=TIMEOUTS,
    )
    yield model
    await model.aclose()


def _request(**model: object) -> ChatRequest:
    return ChatRequest(
        messages=[{"role": "system", "content": "You are a bank agent."}, {"role": "user", "content": "Hi"}],
        model=ModelSpec(**model),  # type: ignore[arg-type]
        agent="concierge",
        call_id="call-1",
    )


async def _collect(model: ChatModel, request: ChatRequest) -> list[ChatEvent]:
    async with asyncio.timeout(HANG_GUARD_S):
        return [event async for event in model.stream(request)]


async def _failure(model: ChatModel, request: ChatRequest) -> OpenAIChatError:
    with pytest.raises(OpenAIChatError) as caught:
        await _collect(model, request)
    assert isinstance(caught.value, ProviderError)
    return caught.value


# -- replies ----------------------------------------------------------------------------------------------


async def test_text_streams_as_deltas_in_order_then_usage_and_done(
    server: FakeOpenAIServer, azure: OpenAIChatModel
) -> None:
    assert isinstance(azure, ChatModel) and azure.name == "azure-openai"
    server.script(TextTurn("Your balance is twelve dollars.", delay_s=0.005, usage=(42, 6)))

    events = await _collect(azure, _request())

    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert deltas == ["Your", " balance", " is", " twelve", " dollars."]
    assert events[len(deltas) :] == [Usage(prompt_tokens=42, completion_tokens=6), ChatDone("stop")]


async def test_text_deltas_reach_the_consumer_before_the_reply_ends(
    server: FakeOpenAIServer, azure: OpenAIChatModel
) -> None:
    server.script(TextTurn("one two three", delay_s=0.15))
    async with asyncio.timeout(HANG_GUARD_S), contextlib.aclosing(azure.stream(_request())) as events:
        first = await anext(events)
        assert first == TextDelta("one")
        assert not server.last.completed  # the server is still pacing the rest
        rest = [e async for e in events]
    assert rest[-1] == ChatDone("stop")


async def test_azure_content_filter_chunks_are_tolerated(
    server: FakeOpenAIServer, azure: OpenAIChatModel
) -> None:
    # The Azure route sends a prompt_filter_results chunk with empty choices first, content_filter_results
    # on every choice, and a trailing annotation chunk whose choice has no delta.
    server.script(TextTurn("Fine."), TextTurn("Fine.", azure_filter=True, finish_reason="content_filter"))
    assert (await _collect(azure, _request()))[0] == TextDelta("Fine.")
    assert (await _collect(azure, _request()))[-1] == ChatDone("content_filter")


async def test_length_finish_reason_is_reported(server: FakeOpenAIServer, azure: OpenAIChatModel) -> None:
    server.script(TextTurn("Cut", finish_reason="length"))
    assert (await _collect(azure, _request()))[-1] == ChatDone("length")


async def test_a_tool_call_is_assembled_from_its_deltas(
    server: FakeOpenAIServer, azure: OpenAIChatModel
) -> None:
    server.script(
        ToolCallsTurn([ScriptedCall("get_balance", {"account": "checking", "currency": "EUR"}, id="call_1")])
    )

    events = await _collect(azure, _request())

    assert events[0] == ToolCall(
        id="call_1", name="get_balance", arguments='{"account":"checking","currency":"EUR"}'
    )
    assert isinstance(events[1], Usage)
    assert events[2:] == [ChatDone("tool_calls")]


@pytest.mark.parametrize("interleave", [False, True], ids=["sequential", "interleaved"])
async def test_parallel_tool_calls_are_assembled_by_index(
    server: FakeOpenAIServer, azure: OpenAIChatModel, interleave: bool
) -> None:
    calls = [
        ScriptedCall("get_balance", {"account": "savings"}, id="call_a"),
        ScriptedCall("lock_card", {"last4": "4321"}, id="call_b"),
    ]
    server.script(ToolCallsTurn(calls, text="One moment.", fragment_chars=3, interleave=interleave))

    events = await _collect(azure, _request())

    assert [e for e in events if isinstance(e, TextDelta)] == [TextDelta("One"), TextDelta(" moment.")]
    tool_calls = [e for e in events if isinstance(e, ToolCall)]
    assert [(c.id, c.name, json.loads(c.arguments)) for c in tool_calls] == [
        ("call_a", "get_balance", {"account": "savings"}),
        ("call_b", "lock_card", {"last4": "4321"}),
    ]
    assert events[-1] == ChatDone("tool_calls")


async def test_a_forced_tool_call_answered_with_stop_is_reported_as_tool_calls(
    server: FakeOpenAIServer, azure: OpenAIChatModel
) -> None:
    server.script(ToolCallsTurn([ScriptedCall("lock_card", {"last4": "1111"})], finish_reason="stop"))
    events = await _collect(azure, _request())
    assert any(isinstance(e, ToolCall) and e.id.startswith("call_") for e in events)
    assert events[-1] == ChatDone("tool_calls")


# -- what goes on the wire -------------------------------------------------------------------------------


async def test_the_azure_request_carries_tools_history_and_model_settings(
    server: FakeOpenAIServer, azure: OpenAIChatModel
) -> None:
    history = [
        {"role": "system", "content": "You are a bank agent."},
        {"role": "user", "content": "What's in savings?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_prev",
                    "type": "function",
                    "function": {"name": "get_balance", "arguments": '{"account":"savings"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_prev", "content": '{"amount": 12.5}'},
    ]
    server.script(TextTurn("You have 12.50."))
    request = ChatRequest(
        messages=history,
        tools=TOOLS,
        model=ModelSpec(deployment="gpt-4o-banking", temperature=0.2, max_tokens=123),
    )

    await _collect(azure, request)

    sent = server.last
    assert sent.path == "/openai/deployments/gpt-4o-banking/chat/completions"
    assert sent.query["api-version"] == API_VERSION
    assert sent.headers["api-key"] == API_KEY
    assert sent.raw["messages"] == history  # the tool-call round trip goes out unchanged
    assert sent.raw["tools"] == [spec.openai_tool() for spec in TOOLS]
    assert sent.raw["tool_choice"] == "auto"
    assert sent.raw["temperature"] == 0.2
    assert sent.raw["max_tokens"] == 123 and "max_completion_tokens" not in sent.raw
    assert sent.raw["stream"] is True and sent.raw["stream_options"] == {"include_usage": True}


async def test_without_tools_no_tool_fields_are_sent_and_the_default_deployment_is_used(
    server: FakeOpenAIServer, azure: OpenAIChatModel
) -> None:
    server.script(TextTurn("Hello."))
    await _collect(azure, _request())
    assert server.last.deployment == "gpt-4o-mini"
    assert "tools" not in server.last.raw and "tool_choice" not in server.last.raw


async def test_max_completion_tokens_can_replace_max_tokens(server: FakeOpenAIServer) -> None:
    model = OpenAIChatModel.azure(
        endpoint=server.azure_endpoint,
        api_key=API_KEY,
        api_version=API_VERSION,
        deployment="o4-mini",
        token_limit_param="max_completion_tokens",
    )
    server.script(TextTurn("Hi."))
    await _collect(model, _request(max_tokens=77))
    await model.aclose()
    assert server.last.raw["max_completion_tokens"] == 77 and "max_tokens" not in server.last.raw


async def test_the_openai_route_uses_a_bearer_key_and_the_model_name(server: FakeOpenAIServer) -> None:
    model = OpenAIChatModel.openai(base_url=server.base_url, api_key=API_KEY, model="gpt-4.1-mini")
    assert model.name == "openai"
    server.script(ToolCallsTurn([ScriptedCall("lock_card", {"last4": "9876"}, id="call_x")]))

    events = await _collect(
        model, ChatRequest(messages=[{"role": "user", "content": "lock it"}], tools=TOOLS)
    )
    await model.aclose()

    assert events[0] == ToolCall(id="call_x", name="lock_card", arguments='{"last4":"9876"}')
    assert server.last.path == "/v1/chat/completions"
    assert server.last.headers["authorization"] == f"Bearer {API_KEY}"
    assert server.last.body is not None and server.last.body.model == "gpt-4.1-mini"


async def test_azure_accepts_an_entra_id_token_instead_of_a_key() -> None:
    async with FakeOpenAIServer(api_key="unused", azure_ad_token="entra-token") as fake:
        model = OpenAIChatModel.azure(
            endpoint=fake.azure_endpoint,
            api_version=API_VERSION,
            deployment="gpt-4o",
            token_provider=lambda: "entra-token",
        )
        fake.script(TextTurn("Hello."))
        assert (await _collect(model, _request()))[-1] == ChatDone("stop")
        await model.aclose()
        assert fake.last.headers["authorization"] == "Bearer entra-token"


async def test_the_connection_is_reused_from_one_turn_to_the_next(
    server: FakeOpenAIServer, azure: OpenAIChatModel
) -> None:
    server.script(TextTurn("One."), TextTurn("Two."))
    await _collect(azure, _request())
    await _collect(azure, _request())
    assert server.requests[0].peer == server.requests[1].peer  # no new TCP (in production: TLS) handshake


async def test_concurrent_replies_do_not_mix(server: FakeOpenAIServer, azure: OpenAIChatModel) -> None:
    server.default_turn = TextTurn("alpha beta gamma delta", delay_s=0.01)
    replies = await asyncio.gather(*(_collect(azure, _request()) for _ in range(8)))
    for events in replies:
        assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "alpha beta gamma delta"
        assert events[-1] == ChatDone("stop")


# -- failures --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("turn", "status", "retryable", "words"),
    [
        (ErrorTurn(429, "Rate limit is exceeded.", code="429", retry_after_s=30), 429, True, "rate limited"),
        (ErrorTurn(500, "The server had an error.", type="server_error"), 500, True, "server error"),
        (ErrorTurn(503, "Service unavailable.", code="ServiceUnavailable"), 503, True, "server error"),
        (ErrorTurn(400, "Bad messages.", code="invalid_request"), 400, False, "rejected"),
    ],
    ids=["429", "500", "503", "400"],
)
async def test_http_errors_become_provider_errors_without_sdk_retries(
    server: FakeOpenAIServer,
    azure: OpenAIChatModel,
    turn: ErrorTurn,
    status: int,
    retryable: bool,
    words: str,
) -> None:
    server.script(turn, TextTurn("a retry would get this"))

    error = await _failure(azure, _request())

    assert (error.status, error.retryable) == (status, retryable)
    assert words in error.message
    assert len(server.requests) == 1  # no SDK retry (a 429 retry would have slept for Retry-After)
    if status == 429:
        assert error.retry_after_s == 30


async def test_a_wrong_key_is_an_auth_error_that_never_shows_the_key(server: FakeOpenAIServer) -> None:
    wrong = "sk-wrong-key-abcdef987654"
    azure = OpenAIChatModel.azure(
        endpoint=server.azure_endpoint, api_key=wrong, api_version=API_VERSION, deployment="gpt-4o"
    )
    openai_compatible = OpenAIChatModel.openai(base_url=server.base_url, api_key=wrong, model="gpt-4o")
    for model in (azure, openai_compatible):
        error = await _failure(model, _request())
        await model.aclose()
        assert error.status == 401 and not error.retryable
        assert "authentication failed" in error.message
        assert wrong not in str(error) and wrong[-4:] not in str(error)


async def test_an_unknown_deployment_is_named_in_the_error() -> None:
    async with FakeOpenAIServer(api_key=API_KEY, deployments={"gpt-4o"}) as fake:
        model = OpenAIChatModel.azure(
            endpoint=fake.azure_endpoint, api_key=API_KEY, api_version=API_VERSION, deployment="gpt-4o"
        )
        error = await _failure(model, _request(deployment="typo-deployment"))
        await model.aclose()
    assert (
        error.status == 404 and "typo-deployment" in error.message and "DeploymentNotFound" in error.message
    )


async def test_an_unreachable_endpoint_fails_fast() -> None:
    async with FakeOpenAIServer() as fake:
        endpoint = fake.azure_endpoint
    model = OpenAIChatModel.azure(endpoint=endpoint, api_key=API_KEY, api_version=API_VERSION, deployment="d")
    error = await _failure(model, _request())
    await model.aclose()
    assert error.retryable and "connection failed before the reply" in error.message


def _quick(server: FakeOpenAIServer, timeouts: ChatTimeouts = QUICK) -> OpenAIChatModel:
    return OpenAIChatModel.azure(
        endpoint=server.azure_endpoint,
        api_key=API_KEY,
        api_version=API_VERSION,
        deployment="gpt-4o",
        timeouts=timeouts,
    )


@pytest.fixture
async def quick(server: FakeOpenAIServer) -> AsyncIterator[OpenAIChatModel]:
    async with contextlib.aclosing(_quick(server)) as model:
        yield model


async def test_no_first_token_in_time_is_a_timeout(server: FakeOpenAIServer, quick: OpenAIChatModel) -> None:
    server.script(TextTurn("never sent", stall_after=0))  # not even the response headers
    error = await _failure(quick, _request())
    assert error.retryable and "no first token within 0.6s" in error.message
    await asyncio.wait_for(server.last.client_disconnected.wait(), HANG_GUARD_S)


async def test_a_stream_that_stalls_mid_reply_times_out(
    server: FakeOpenAIServer, quick: OpenAIChatModel
) -> None:
    server.script(TextTurn("Let me check that for you", stall_after=4))
    seen: list[ChatEvent] = []
    with pytest.raises(OpenAIChatError) as caught:
        async with asyncio.timeout(HANG_GUARD_S):
            async for event in quick.stream(_request()):
                seen.append(event)
    assert "stream stalled" in caught.value.message
    assert seen == [TextDelta("Let"), TextDelta(" me")]  # what was said before the stall got through
    await asyncio.wait_for(server.last.client_disconnected.wait(), HANG_GUARD_S)


async def test_a_reply_that_trickles_past_the_total_budget_times_out(server: FakeOpenAIServer) -> None:
    server.script(TextTurn("word " * 40, delay_s=0.05))  # every gap is fine, the whole is too slow
    async with contextlib.aclosing(_quick(server, ChatTimeouts(total_s=0.5))) as model:
        error = await _failure(model, _request())
    assert "reply not finished within 0.5s" in error.message


async def test_a_dropped_connection_mid_reply_is_a_provider_error(
    server: FakeOpenAIServer, azure: OpenAIChatModel
) -> None:
    server.script(TextTurn("one two three four five", disconnect_after=3))
    error = await _failure(azure, _request())
    assert error.retryable and "connection failed mid-reply" in error.message


async def test_an_error_event_inside_a_200_stream_is_a_provider_error(
    server: FakeOpenAIServer, azure: OpenAIChatModel
) -> None:
    server.script(TextTurn("Sure, let me", error_after=3))
    error = await _failure(azure, _request())
    assert (
        error.retryable and "error in the stream" in error.message and "server had an error" in error.message
    )


async def test_sse_comments_and_multiline_data_are_read_and_a_missing_done_is_forgiven(
    server: FakeOpenAIServer, azure: OpenAIChatModel
) -> None:
    server.script(
        RawTurn(
            b": keep-alive\n\n"
            b'data: {"choices":[{"index":0,"delta":{"content":"Hi"}}]}\r\n\r\n'
            b'data: {"choices":[{"index":0,"delta":{},\ndata: "finish_reason":"stop"}]}\n\n'
        )
    )
    assert await _collect(azure, _request()) == [TextDelta("Hi"), ChatDone("stop")]


@pytest.mark.parametrize(
    ("turn", "words"),
    [
        (
            RawTurn(b'{"choices":[{"message":{"content":"Hi"}}]}', content_type="application/json"),
            "ended before",
        ),
        (RawTurn(b'data: {"choices":[{"index":0,"delta":{"content":"Hi"}}]}\n\n'), "ended before"),
        (RawTurn(b"data: {not json\n\n"), "malformed chunk"),
    ],
    ids=["not-sse", "cut-short", "not-json"],
)
async def test_a_body_that_is_not_a_whole_chat_stream_is_a_provider_error(
    server: FakeOpenAIServer, azure: OpenAIChatModel, turn: RawTurn, words: str
) -> None:
    server.script(turn)
    assert words in (await _failure(azure, _request())).message


# -- barge-in --------------------------------------------------------------------------------------------


async def test_cancelling_the_consumer_mid_reply_closes_the_connection(
    server: FakeOpenAIServer, azure: OpenAIChatModel
) -> None:
    server.script(TextTurn("This is a long answer the caller will interrupt " * 5, delay_s=0.05))
    first_delta = asyncio.Event()

    async def speak() -> None:
        async for event in azure.stream(_request()):
            if isinstance(event, TextDelta):
                first_delta.set()

    task = asyncio.create_task(speak())
    await asyncio.wait_for(first_delta.wait(), HANG_GUARD_S)
    task.cancel()  # barge-in
    with pytest.raises(asyncio.CancelledError):
        await task

    await asyncio.wait_for(server.last.client_disconnected.wait(), HANG_GUARD_S)
    assert not server.last.completed


async def test_closing_the_stream_mid_reply_closes_the_connection(
    server: FakeOpenAIServer, azure: OpenAIChatModel
) -> None:
    server.script(TextTurn("a b c d e f g h", delay_s=0.05))
    events = azure.stream(_request())
    assert await anext(events) == TextDelta("a")
    await events.aclose()  # type: ignore[attr-defined]
    await asyncio.wait_for(server.last.client_disconnected.wait(), HANG_GUARD_S)


async def test_cancelling_while_waiting_for_the_first_token_closes_the_connection(
    server: FakeOpenAIServer, azure: OpenAIChatModel
) -> None:
    server.script(TextTurn("never sent", stall_after=0))
    task = asyncio.create_task(_collect(azure, _request()))
    await server.wait_for_requests(1)  # the request is in; the model is "thinking"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.wait_for(server.last.client_disconnected.wait(), HANG_GUARD_S)
