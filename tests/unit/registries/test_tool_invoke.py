"""Invoking tools: validated arguments, sync tools in a thread, failures as structured results (never raised)."""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path

import pytest

from registries.toolstore import ToolAction, ToolCatalog, ToolContext, discover_tools, tool
from registries.toolstore.catalog import GENERIC_FAILURE

from .trees import FIXTURES


@pytest.fixture(scope="module")
def catalog() -> ToolCatalog:
    return discover_tools(packages=(), directories=[FIXTURES / "helpdesk" / "tools"])


@pytest.fixture
def ctx() -> ToolContext:
    return ToolContext(call_id="c1", caller="+15550001111", scenario="helpdesk", agent="billing")


async def test_async_tool_output_is_the_dumped_model_and_reply_is_rendered(catalog, ctx) -> None:
    result = await catalog.invoke("lookup_order", {"order_id": "A17"}, ctx)
    assert result.ok and result.error is None
    assert result.output == {"order_id": "A17", "status": "shipped"}
    assert result.spoken == "Order A17 is shipped."
    assert ctx.session["last_order"] == "A17"
    assert result.duration_ms >= 0


async def test_arguments_may_be_the_llm_json_string(catalog, ctx) -> None:
    result = await catalog.invoke("lookup_order", '{"order_id": "B2"}', ctx)
    assert result.ok and result.output["order_id"] == "B2"


async def test_sync_tool_runs_in_a_worker_thread(catalog, ctx) -> None:
    result = await catalog.invoke("count_words", {"text": "one two three"}, ctx)
    assert result.ok and result.output["words"] == 3
    assert result.output["thread"] != threading.get_ident()


async def test_tool_error_message_reaches_the_caller(catalog, ctx) -> None:
    result = await catalog.invoke("refund_order", {"order_id": "0"}, ctx)
    assert not result.ok
    assert result.error.type == "tool_error"
    assert result.error.message == "That order can't be refunded."
    assert result.spoken is None


async def test_unexpected_exception_gives_a_generic_message_and_is_logged_without_its_text(
    catalog, ctx, caplog
) -> None:
    with caplog.at_level(logging.ERROR):
        result = await catalog.invoke("refund_order", {"order_id": "crash"}, ctx)
    assert not result.ok
    assert result.error.type == "internal_error"
    assert result.error.message == GENERIC_FAILURE
    assert "hunter2" not in result.model_dump_json()
    record = next(r for r in caplog.records if r.getMessage() == "tool failed")
    assert record.tool == "refund_order" and record.error_type == "RuntimeError"
    assert "hunter2" not in caplog.text


async def test_unknown_tool_is_a_result_naming_it(catalog, ctx) -> None:
    result = await catalog.invoke("launch_rocket", {}, ctx)
    assert not result.ok
    assert result.error.type == "unknown_tool"
    assert "launch_rocket" in result.error.message


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({}, "order_id: required argument is missing"),
        ({"order_id": "1", "amount_cents": "lots"}, "amount_cents: Input should be a valid integer"),
        ({"order_id": "1", "colour": "red"}, "colour: unexpected argument"),
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
    ],
)
async def test_invalid_arguments_name_the_field(catalog, ctx, arguments, named) -> None:
    result = await catalog.invoke("refund_order", arguments, ctx)
    assert not result.ok
    assert result.error.type == "invalid_arguments"
    assert named in result.error.message
    assert ctx.actions == []


async def test_tools_request_actions_through_the_context(catalog, ctx) -> None:
    result = await catalog.invoke("refund_order", {"order_id": "9"}, ctx)
    assert result.ok
    assert ctx.actions == [ToolAction("transfer", "refund needs approval")]
    ctx.request_hang_up("done")
    assert ctx.actions[-1].kind == "hang_up"


async def test_slow_tool_times_out_as_a_result(ctx) -> None:
    @tool
    async def dawdle() -> dict:
        """Take forever."""
        await asyncio.sleep(10)
        return {}

    result = await ToolCatalog([dawdle.__switchboard_tool__]).invoke("dawdle", None, ctx, timeout=0.05)
    assert not result.ok and result.error.type == "timeout"


async def test_non_dict_return_values_are_wrapped(ctx) -> None:
    @tool
    def answer() -> int:
        """The answer."""
        return 42

    result = await ToolCatalog([answer.__switchboard_tool__]).invoke("answer", {}, ctx)
    assert result.output == {"result": 42}
    assert result.to_message() == '{"ok": true, "result": 42}'


def test_catalog_is_immutable(catalog) -> None:
    with pytest.raises(TypeError):
        catalog["x"] = catalog["count_words"]  # type: ignore[index]
    assert isinstance(FIXTURES, Path)
