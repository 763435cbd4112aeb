"""The ASGI-free media socket against a real WebSocket client (the `websockets` library) over loopback, and
uvicorn with the dispatching protocol: the media path served directly, every other route as before."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from apps.backend.acs.media_token import MediaTokenError
from apps.backend.media_ws.connection import MediaWebSocket
from apps.backend.media_ws.dispatch import MEDIA_PATH, media_protocol_class
from apps.backend.media_ws.frames import UpgradeRequest
from tests.support import eventually
from voice.transports.base import MediaSocketClosed

Serve = Any


@contextlib.asynccontextmanager
async def media_server(serve: Serve) -> AsyncIterator[str]:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: MediaWebSocket(serve, max_size=1 << 20), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"ws://127.0.0.1:{port}{MEDIA_PATH}?token=t"
    finally:
        server.close()


async def test_messages_in_and_out_and_the_client_closing() -> None:
    seen: list[str] = []
    done = asyncio.Event()

    async def echo(conn: MediaWebSocket, request: UpgradeRequest) -> None:
        assert request.path == MEDIA_PATH and request.headers["x-test"] == "1"
        conn.accept()
        while (text := await conn.receive_text()) is not None:
            seen.append(text)
            await conn.send_text(text.upper())
        done.set()

    async with media_server(echo) as url, connect(url, additional_headers={"x-test": "1"}) as ws:
        for word in ("one", "two", "x" * 5000):
            await ws.send(word)
            assert await ws.recv() == word.upper()
        await ws.send(b"bytes")  # binary is read as UTF-8 text, like the ASGI adapter does
        assert await ws.recv() == "BYTES"
        await ws.close()
        await asyncio.wait_for(done.wait(), 5)
    assert seen == ["one", "two", "x" * 5000, "bytes"]


async def test_a_rejected_socket_is_closed_with_the_reason() -> None:
    async def reject(conn: MediaWebSocket, request: UpgradeRequest) -> None:
        await conn.reject(1008, "unknown call")

    async with media_server(reject) as url, connect(url) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1008, "unknown call")


async def test_the_server_closing_ends_the_socket_and_later_sends_fail() -> None:
    after_close: list[BaseException] = []

    async def greet_and_close(conn: MediaWebSocket, request: UpgradeRequest) -> None:
        conn.accept()
        await conn.send_text("hello")
        await conn.close(1000, "call ended")
        try:
            await conn.send_text("too late")
        except MediaSocketClosed as exc:
            after_close.append(exc)
        assert await conn.receive_text() is None  # the client's close answer ends the read side

    async with media_server(greet_and_close) as url, connect(url) as ws:
        assert await ws.recv() == "hello"
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1000
    assert len(after_close) == 1


async def test_pings_are_answered_and_protocol_errors_close_with_1002() -> None:
    ended = asyncio.Event()

    async def listen(conn: MediaWebSocket, request: UpgradeRequest) -> None:
        conn.accept()
        while await conn.receive_text() is not None:
            pass
        ended.set()

    async with media_server(listen) as url, connect(url) as ws:
        await asyncio.wait_for(await ws.ping(b"are you there"), 5)  # the pong came back
        ws.transport.write(b"\x81\x03abc")  # an unmasked client frame
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
        await asyncio.wait_for(ended.wait(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1002


async def test_uvicorn_serves_the_media_path_directly_and_other_websockets_through_asgi() -> None:
    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("asgi:" + await websocket.receive_text())
        await websocket.close()

    class Tokens:
        def verify(self, token: str | None) -> None:
            raise MediaTokenError("bad media token")

    app = Starlette(routes=[WebSocketRoute("/echo", echo)])
    app.state.runtime = SimpleNamespace(media_tokens=Tokens())
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_config=None, ws=media_protocol_class(app, max_size=1 << 20), lifespan="off"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        await eventually(lambda: server.started, timeout=10)
        async with connect(f"ws://127.0.0.1:{port}/echo") as ws:
            await ws.send("hi")
            assert await ws.recv() == "asgi:hi"
        async with connect(f"ws://127.0.0.1:{port}{MEDIA_PATH}?token=forged") as ws:
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
        assert closed.value.rcvd is not None
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1008, "bad media token")
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


class _RecordingTransport(asyncio.Transport):
    """Every `write` kept as it came (one write: one send system call on a real socket)."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        assert not self.closed, "written after close"
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True


async def test_frames_sent_in_one_turn_of_the_loop_go_out_in_one_write_in_order_and_before_a_close() -> None:
    async def serve(conn: MediaWebSocket, request: UpgradeRequest) -> None:
        conn.accept()
        await conn.send_text("a")
        await conn.send_text("bc")
        await asyncio.sleep(0)  # the next turn of the loop: a write of its own
        await conn.send_text("d")
        await conn.close(1000, "bye")

    transport = _RecordingTransport()
    conn = MediaWebSocket(serve, max_size=1 << 20)
    conn.connection_made(transport)
    key = "dGhlIHNhbXBsZSBub25jZQ=="
    conn.data_received(
        f"GET {MEDIA_PATH} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    await eventually(lambda: len(transport.writes) == 2)
    handshake_and_two, one = transport.writes[0], transport.writes[1]
    assert handshake_and_two.startswith(b"HTTP/1.1 101") and handshake_and_two.endswith(
        b"\x81\x01a\x81\x02bc"
    )
    assert one == b"\x81\x01d\x88\x05\x03\xe8bye"  # the frame and the close, flushed together
    conn.connection_lost(None)


# -- frames already in (one MediaWebSocket fed in-process: which messages each wake-up of the call finds) ------

_UPGRADE = (
    b"GET /api/v1/media/stream HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


class _Wire(asyncio.Transport):
    def write(self, data: Any) -> None:
        return None

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:  # the call ending closes its socket
        return None


def _frame(text: str) -> bytes:
    payload = text.encode()
    return bytes([0x81, 0x80 | len(payload)]) + b"\x00" * 4 + payload  # zero mask: sent as is


async def test_each_wake_up_finds_every_frame_already_in_and_a_lone_frame_goes_up_at_once() -> None:
    wakes: list[list[str]] = []
    ended = asyncio.Event()

    async def call(conn: MediaWebSocket, request: UpgradeRequest) -> None:
        conn.accept()
        while (text := await conn.receive_text()) is not None:
            wake = [text]
            while (more := conn.receive_buffered()) is not None:
                wake.append(more)
            wakes.append(wake)
        assert conn.receive_buffered() is None  # closed: nothing more, and no wait
        ended.set()

    conn = MediaWebSocket(call, max_size=1 << 16)
    conn.connection_made(_Wire())
    conn.data_received(_UPGRADE)
    await asyncio.sleep(0)
    conn.data_received(_frame("f1"))
    await asyncio.sleep(0)
    assert wakes == [["f1"]]  # nothing held back for a later frame
    conn.data_received(_frame("f2") + _frame("f3") + _frame("f4"))  # a call that fell behind
    await asyncio.sleep(0)
    assert wakes == [["f1"], ["f2", "f3", "f4"]]
    conn.connection_lost(None)
    await asyncio.wait_for(ended.wait(), 5)
