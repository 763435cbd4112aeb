"""One open VoiceLive connection: connect through the SDK, configure the session, close.

The SDK's `connect` returns an async context manager; a call's connection outlives any one `async with`
block (it is replaced on reconnect), so the manager is entered on an `AsyncExitStack` the link owns.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from typing import Any

from azure.ai.voicelive.aio import ConnectionClosed, VoiceLiveConnection
from azure.ai.voicelive.aio import ConnectionError as VoiceLiveConnectionError
from azure.ai.voicelive.aio import connect as sdk_connect
from azure.ai.voicelive.models import RequestSession
from azure.core.credentials import AzureKeyCredential

from voice.voicelive.config import VoiceLiveSettings

log = logging.getLogger(__name__)

ConnectFactory = Callable[..., AbstractAsyncContextManager[VoiceLiveConnection]]
"""`azure.ai.voicelive.aio.connect`'s shape (keyword arguments: credential, endpoint, api_version, model)."""

DEFAULT_CONNECT: ConnectFactory = sdk_connect


class RealtimeUnavailable(Exception):
    """The realtime session could not be opened (connect failed, or the session was never confirmed)."""


class RealtimeLink:
    def __init__(
        self, connection: VoiceLiveConnection, stack: AsyncExitStack, output_format: str | None = None
    ) -> None:
        self.connection = connection
        self._stack = stack
        self.output_format = output_format
        """The output audio format the server confirmed in `session.updated` (None: not said)."""

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self._stack.aclose()


async def open_link(
    connect: ConnectFactory, settings: VoiceLiveSettings, session: RequestSession
) -> RealtimeLink:
    """Connect, send `session.update` and wait for `session.updated` (both bounded by the connect timeout)."""
    stack = AsyncExitStack()
    try:
        async with asyncio.timeout(settings.connect_timeout_s):
            manager = connect(
                credential=AzureKeyCredential(settings.api_key),
                endpoint=settings.endpoint,
                api_version=settings.api_version,
                model=settings.model,
            )
            connection = await stack.enter_async_context(manager)
        await connection.session.update(session=session)
        async with asyncio.timeout(settings.connect_timeout_s):
            confirmed = await _session_updated(connection)
    except BaseException as exc:
        await stack.aclose()
        if isinstance(exc, asyncio.CancelledError):
            raise
        if isinstance(exc, Exception):
            raise RealtimeUnavailable(type(exc).__name__) from exc
        raise
    output_format = confirmed.get("output_audio_format")
    return RealtimeLink(connection, stack, output_format if isinstance(output_format, str) else None)


async def server_events(connection: VoiceLiveConnection) -> AsyncIterator[Any]:
    """Server events (raw JSON mappings) until the socket drops. A malformed one is logged and skipped."""
    while True:
        try:
            event = await connection.recv()
        except ConnectionClosed:
            return
        except VoiceLiveConnectionError as exc:
            if isinstance(exc.__cause__, ValueError | TypeError):
                log.warning("malformed realtime event dropped")
                continue
            return
        except (OSError, RuntimeError):
            return
        except Exception as exc:  # the SDK chokes on JSON that is not an event object
            log.warning("malformed realtime event dropped", extra={"error_type": type(exc).__name__})
            continue
        yield event


async def _session_updated(connection: VoiceLiveConnection) -> Any:
    """The confirmed session (raw JSON mapping)."""
    while True:
        event: Any = await connection.recv()
        kind = event.get("type")
        if kind == "session.updated":
            session = event.get("session")
            return session if isinstance(session, dict) else {}
        if kind == "error":
            log_server_error("realtime server rejected the session", event)


def log_server_error(message: str, event: Any) -> None:
    """A server `error` event, logged without its message text (it may quote the caller)."""
    error = event.get("error") or {}
    log.warning(
        message,
        extra={"code": error.get("code"), "error_type": error.get("type"), "param": error.get("param")},
    )
