"""Tools agents can call: the `@tool` decorator, the per-call `ToolContext`, and the immutable `ToolCatalog`.

Writing a tool (in `registries/toolstore/tools/` or a tool directory):

    from registries.toolstore import ToolContext, ToolError, tool

    @tool(examples=["what's my balance", ...], reply="Your balance is {{ balance }} dollars.")
    async def get_balance(ctx: ToolContext, account: Literal["checking", "savings"]) -> dict:
        \"\"\"Read the balance of one of the caller's accounts.\"\"\"
"""

from registries.toolstore.catalog import (
    ToolCatalog,
    ToolErrorInfo,
    ToolResult,
    discover_tools,
    invoke_tool,
)
from registries.toolstore.context import HandoffTarget, ToolAction, ToolContext, ToolError
from registries.toolstore.decorator import ToolSpec, spec_of, tool
from registries.toolstore.signature import ToolDefinitionError

__all__ = [
    "HandoffTarget",
    "ToolAction",
    "ToolCatalog",
    "ToolContext",
    "ToolDefinitionError",
    "ToolError",
    "ToolErrorInfo",
    "ToolResult",
    "ToolSpec",
    "discover_tools",
    "invoke_tool",
    "spec_of",
    "tool",
]
