"""uvicorn's WebSocket protocol, chosen per upgrade: the ACS media path is served by `MediaWebSocket` (no
ASGI), every other WebSocket route by uvicorn's own protocol as before.

uvicorn builds the WebSocket protocol with (config, server_state, app_state), feeds it the upgrade request,
then makes it the transport's protocol. The request is all `MediaDispatch` needs to pick: it builds the
chosen protocol, hands it the connection and the request, and forwards to it; one event loop turn later the
chosen protocol becomes the transport's protocol itself, so a call's frames reach it with no hop.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qs

from apps.backend.media_ws.connection import MediaWebSocket
from apps.backend.media_ws.frames import UpgradeRequest

MEDIA_PATH = "/api/v1/media/stream"


def media_protocol_class(app: Any, *, max_size: int) -> type[asyncio.Protocol]:
    """A uvicorn `ws=` protocol class serving `MEDIA_PATH` of `app` (whose lifespan sets `state.runtime`)
    without ASGI."""
    from uvicorn.protocols.websockets.auto import AutoWebSocketsProtocol

    if AutoWebSocketsProtocol is None:  # pragma: no cover - websockets is a dependency
        raise RuntimeError("uvicorn has no WebSocket implementation")
    fallback: Any = AutoWebSocketsProtocol

    async def serve(connection: MediaWebSocket, request: UpgradeRequest) -> None:
        await serve_media(app.state.runtime, connection, request)

    class MediaDispatch(asyncio.Protocol):
        def __init__(self, config: Any, server_state: Any, app_state: Any, _loop: Any = None) -> None:
            self._args = (config, server_state, app_state)
            self._transport: asyncio.Transport | None = None
            self._inner: Any = None

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self._transport = transport  # type: ignore[assignment]

        def data_received(self, data: bytes) -> None:
            if self._inner is None:
                self._inner = self._choose(data)
                self._inner.connection_made(self._transport)
                asyncio.get_running_loop().call_soon(self._hand_over)
            self._inner.data_received(data)

        def _choose(self, request: bytes) -> Any:
            target = request.split(b" ", 2)[1] if request.count(b" ") >= 2 else b""
            if target.split(b"?", 1)[0].decode("latin-1") == MEDIA_PATH:
                return MediaWebSocket(serve, max_size=max_size, server_state=self._args[1])
            config, server_state, app_state = self._args
            return fallback(config=config, server_state=server_state, app_state=app_state)

        def _hand_over(self) -> None:
            if self._transport is not None and not self._transport.is_closing():
                self._transport.set_protocol(self._inner)

        def connection_lost(self, exc: Exception | None) -> None:
            if self._inner is not None:
                self._inner.connection_lost(exc)

        def eof_received(self) -> bool | None:
            return self._inner.eof_received() if self._inner is not None else None

        def pause_writing(self) -> None:
            if self._inner is not None:
                self._inner.pause_writing()

        def resume_writing(self) -> None:
            if self._inner is not None:
                self._inner.resume_writing()

    return MediaDispatch


async def serve_media(runtime: Any, connection: MediaWebSocket, request: UpgradeRequest) -> None:
    """The media route without ASGI: the same admission as `/api/v1/media/stream`, then the call's media."""
    from apps.backend.api.v1.media import Rejection, admit_media

    token = parse_qs(request.query).get("token", [None])[0]
    admitted = await admit_media(runtime, token, request.headers.get("authorization"))
    if isinstance(admitted, Rejection):
        await connection.reject(admitted.code, admitted.reason)
        return
    try:
        connection.accept()
        await runtime.calls.run_media(
            admitted, connection, call_connection_id=request.headers.get("x-ms-call-connection-id")
        )
    finally:
        await runtime.calls.release_media(admitted)
