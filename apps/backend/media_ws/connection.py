"""One ACS media WebSocket served straight off the event loop's transport, without ASGI.

Through Starlette, every 20 ms frame of every call costs a websockets protocol parse, an ASGI message dict,
a queue hop and a task wake-up on the way in, and the same again on the way out. Here a frame costs a
header read, a C unmask, and an append to the call's inbox; whatever frames arrived together are handled
by one wake-up of the call's session, and `receive_buffered` lets its transport take them as one chunk (one
pass of the media path). Outbound frames written in one turn of the loop (the
two frames a playout wake-up sends, a StopAudio and what follows it) go out in one `transport.write`, one
send system call, at the end of that turn.

The connection is also the call's `MediaSocket` (`voice.transports.base`), so the call runs exactly the
`AcsMediaTransport` -> `MediaSession` path of the ASGI route. Admission (signed token, ACS JWT, the call's
one media slot) is the same function the ASGI route uses (`apps.backend.api.v1.media.admit_media`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, cast

from apps.backend.media_ws.frames import (
    MAX_REQUEST_BYTES,
    OP_BINARY,
    OP_CLOSE,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    FrameError,
    FrameReader,
    UpgradeRequest,
    accept_response,
    close_payload,
    frame_header,
    parse_close,
    parse_upgrade,
)
from voice.transports.base import MediaSocketClosed

log = logging.getLogger(__name__)

INBOX_PAUSE = 250  # 5 s of audio queued and unread: stop reading the socket until the call catches up
INBOX_RESUME = 50
CLOSE_TIMEOUT_S = 2.0
SERVER_RESTART = 1012

Serve = Callable[["MediaWebSocket", UpgradeRequest], Awaitable[None]]


class MediaWebSocket(asyncio.Protocol):
    """Server side of one media WebSocket. `serve(connection, request)` runs as the connection's task once
    the upgrade request is in; it must call `accept()` (or `reject()`) before sending."""

    def __init__(
        self,
        serve: Serve,
        *,
        max_size: int,
        server_state: Any = None,
        request: bytes = b"",
    ) -> None:
        self._serve = serve
        self._reader = FrameReader(max_size)
        self._server_state = server_state
        self._head = bytearray(request)
        self.transport: asyncio.Transport | None = None
        self.request: UpgradeRequest | None = None
        self._task: asyncio.Task[None] | None = None
        self._accepted = False
        self._inbox: deque[str] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._reading_paused = False
        self._drained: asyncio.Future[None] | None = None
        self._write_paused = False
        self._out: list[bytes] | None = None  # written in this turn of the loop, not yet flushed
        self._close_sent = False
        self._close_timer: asyncio.TimerHandle | None = None
        self.closed = False
        self.close_code: int | None = None

    # -- asyncio.Protocol --------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        if self._server_state is not None:
            self._server_state.connections.add(self)
        if self._head:
            head, self._head = bytes(self._head), bytearray()
            self.data_received(head)

    def data_received(self, data: bytes) -> None:
        if self.request is None:
            self._receive_head(data)
            return
        try:
            messages = self._reader.feed(data)
        except FrameError as exc:
            self._fail(exc.code, exc.reason)
            return
        inbox = self._inbox
        for opcode, payload in messages:
            if opcode == OP_TEXT or opcode == OP_BINARY:
                if not self.closed:
                    inbox.append(payload.decode("utf-8", errors="replace"))
            elif opcode == OP_CLOSE:
                self._peer_closed(payload)
            elif opcode == OP_PING:
                self._write(frame_header(OP_PONG, len(payload)) + payload)
        if inbox:
            self._wake()
            if len(inbox) >= INBOX_PAUSE and not self._reading_paused and self.transport is not None:
                self._reading_paused = True
                self.transport.pause_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.close_code is None:
            self.close_code = 1006
        if self._close_timer is not None:
            self._close_timer.cancel()
        if self._server_state is not None:
            self._server_state.connections.discard(self)
        self._wake()
        self._resume_writers()

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        self._resume_writers()

    def shutdown(self) -> None:
        """uvicorn's graceful shutdown: tell the peer the server restarts, as uvicorn's own protocols do."""
        if self._accepted:
            self._send_close(SERVER_RESTART, "server restart")
        self.closed = True
        self._wake()
        if self.transport is not None:
            self._close_transport()

    # -- the upgrade -------------------------------------------------------------------------------

    def _receive_head(self, data: bytes) -> None:
        self._head += data
        end = self._head.find(b"\r\n\r\n")
        if end < 0:
            if len(self._head) > MAX_REQUEST_BYTES:
                self._abort()
            return
        head, rest = bytes(self._head[:end]), bytes(self._head[end + 4 :])
        self._head = bytearray()
        try:
            self.request = parse_upgrade(head)
        except FrameError:
            self._abort()
            return
        self._task = asyncio.get_running_loop().create_task(self._run(self.request), name="media-ws")
        if self._server_state is not None:
            self._server_state.tasks.add(self._task)
        if rest:
            self.data_received(rest)

    async def _run(self, request: UpgradeRequest) -> None:
        try:
            await self._serve(self, request)
        except Exception:
            log.exception("media socket handler failed")
            self._send_close(1011, "internal error")
        finally:
            if not self._accepted:
                self._abort()
            elif not self._close_sent:
                self._send_close(1000, "")
            if self._server_state is not None and self._task is not None:
                self._server_state.tasks.discard(self._task)

    def accept(self) -> None:
        assert self.request is not None
        if not self._accepted:
            self._accepted = True
            self._write(accept_response(self.request.headers["sec-websocket-key"]))

    async def reject(self, code: int, reason: str) -> None:
        """Accept, then close at once with `code` (what the ASGI route does: ACS sees a WebSocket close)."""
        self.accept()
        await self.close(code, reason)

    def _abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self._close_transport()

    # -- MediaSocket -------------------------------------------------------------------------------

    async def receive_text(self) -> str | None:
        """The next message; None once either side closed (after our close, as through Starlette, whatever
        the peer still sends is not read: the call is ending)."""
        inbox = self._inbox
        if self._close_sent:
            return None
        while not inbox:
            if self.closed or self._close_sent:
                return None
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._take(inbox)

    def receive_buffered(self) -> str | None:
        """The next message if it is already in (`BufferedMediaSocket`): frames that arrived together go
        through the call's media path as one chunk."""
        inbox = self._inbox
        if self._close_sent or not inbox:
            return None
        return self._take(inbox)

    def _take(self, inbox: deque[str]) -> str:
        if self._reading_paused and len(inbox) <= INBOX_RESUME and self.transport is not None:
            self._reading_paused = False
            self.transport.resume_reading()
        return inbox.popleft()

    async def send_text(self, data: str) -> None:
        if self._write_paused and not self.closed:
            self._drained = self._drained or asyncio.get_running_loop().create_future()
            await self._drained
        if self.closed or self._close_sent:
            raise MediaSocketClosed("media socket closed")
        payload = data.encode()
        self._write(frame_header(OP_TEXT, len(payload)) + payload)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self._send_close(code, reason)

    # -- internals ---------------------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        out = self._out
        if out is None:
            self._out = [data]
            asyncio.get_running_loop().call_soon(self._flush)
        else:
            out.append(data)

    def _flush(self) -> None:
        """Whatever was written in this turn of the loop, in one write."""
        out, self._out = self._out, None
        transport = self.transport
        if out and transport is not None and not transport.is_closing():
            transport.write(out[0] if len(out) == 1 else b"".join(out))

    def _close_transport(self) -> None:
        if self.transport is not None:
            self._flush()
            self.transport.close()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _resume_writers(self) -> None:
        drained, self._drained = self._drained, None
        if drained is not None and not drained.done():
            drained.set_result(None)

    def _send_close(self, code: int, reason: str) -> None:
        if self._close_sent or self.transport is None or self.transport.is_closing():
            return
        self._close_sent = True
        if self.close_code is None:
            self.close_code = code
        payload = close_payload(code, reason)
        self._write(frame_header(OP_CLOSE, len(payload)) + payload)
        if self.closed:  # the peer's close came first: ours was the answer
            self._close_transport()
        else:
            self._wake()  # a reader waiting for the next message learns the socket is closing
            loop = asyncio.get_running_loop()
            self._close_timer = loop.call_later(CLOSE_TIMEOUT_S, self._abort)

    def _peer_closed(self, payload: bytes) -> None:
        code, _reason = parse_close(payload)
        if self.close_code is None:
            self.close_code = code
        self.closed = True
        if not self._close_sent:
            echo = code if code not in (1005, 1006) else 1000
            with contextlib.suppress(RuntimeError):
                self._send_close(echo, "")
        if self.transport is not None:
            self._close_transport()

    def _fail(self, code: int, reason: str) -> None:
        log.warning("media socket protocol error", extra={"reason": reason})
        self.closed = True
        self._send_close(code, reason)
        if self.transport is not None:
            self._close_transport()
        self._wake()
