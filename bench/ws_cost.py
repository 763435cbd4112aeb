"""CPU per media message for each way of serving the ACS media WebSocket: `python -m bench.ws_cost`.

One server-side connection per candidate, fed ACS AudioData messages (masked client frames, ~1 kB each) straight
into the protocol's `data_received` from a fake transport, the app echoing every message back as an agent frame,
so a message is counted once in and once out. Candidates:

- `direct`: `apps.backend.media_ws` (our RFC 6455 codec, no ASGI);
- `websockets-sansio`: uvicorn's default with websockets installed, through Starlette's WebSocket;
- `websockets`: uvicorn's legacy websockets protocol (a task and asyncio streams per connection);
- `wsproto`: uvicorn's wsproto protocol (skipped when wsproto is not installed).

The process's CPU time (`time.process_time`) over `--messages` messages, best of `--repeats` runs: the best run
is the one least disturbed by other load, so the numbers hold on a busy machine better than wall-clock ones.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from apps.backend.media_ws.connection import MediaWebSocket
from apps.backend.media_ws.frames import UpgradeRequest

PATH = "/api/v1/media/stream"
REQUEST = (
    f"GET {PATH}?token=t HTTP/1.1\r\nhost: 127.0.0.1\r\nupgrade: websocket\r\nconnection: Upgrade\r\n"
    "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n"
).encode()


class FakeTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written = 0
        self.protocol: Any = None

    def write(self, data: Any) -> None:
        self.written += len(data)

    def writelines(self, list_of_data: Any) -> None:
        for data in list_of_data:
            self.write(data)

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(name, default)

    def set_protocol(self, protocol: Any) -> None:
        self.protocol = protocol

    def get_protocol(self) -> Any:
        return self.protocol

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return (0, 0)

    def can_write_eof(self) -> bool:
        return False

    def abort(self) -> None:
        pass


def audio_message() -> bytes:
    pcm = os.urandom(640)
    payload = orjson.dumps(
        {
            "kind": "AudioData",
            "audioData": {
                "timestamp": "2024-01-01T00:00:00.000Z",
                "participantRawID": "4:+15555550100",
                "data": base64.b64encode(pcm).decode(),
                "silent": False,
            },
        }
    )
    key = os.urandom(4)
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return bytes([0x81, 0x80 | 126]) + len(payload).to_bytes(2, "big") + key + masked


AGENT_FRAME = (
    '{"Kind":"AudioData","AudioData":{"Data":"'
    + base64.b64encode(bytes(640)).decode()
    + '"},"StopAudio":null}'
)


async def run_direct(frame: bytes, messages: int, batch: int) -> float:
    done = asyncio.Event()
    count = 0

    async def serve(conn: MediaWebSocket, request: UpgradeRequest) -> None:
        nonlocal count
        conn.accept()
        while await conn.receive_text() is not None:
            await conn.send_text(AGENT_FRAME)
            count += 1
            if count == messages:
                done.set()

    conn = MediaWebSocket(serve, max_size=1 << 20)
    conn.connection_made(FakeTransport())
    conn.data_received(REQUEST)
    await asyncio.sleep(0)
    try:
        return await _pump(conn.data_received, frame, messages, done, batch)
    finally:
        await _hang_up(conn)


async def run_uvicorn(kind: str, frame: bytes, messages: int, batch: int) -> float:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.routing import WebSocketRoute
    from starlette.websockets import WebSocket
    from uvicorn.config import WS_PROTOCOLS
    from uvicorn.importer import import_from_string
    from uvicorn.server import ServerState

    done = asyncio.Event()
    count = 0

    async def media(websocket: WebSocket) -> None:
        nonlocal count
        await websocket.accept()
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            await websocket.send_text(AGENT_FRAME)
            count += 1
            if count == messages:
                done.set()

    app = Starlette(routes=[WebSocketRoute(PATH, media)])
    config = uvicorn.Config(app, ws=kind, lifespan="off", log_config=None)
    config.load()
    protocol_class = import_from_string(WS_PROTOCOLS[kind])
    protocol = protocol_class(config=config, server_state=ServerState(), app_state={})
    transport = FakeTransport()
    protocol.connection_made(transport)
    protocol.data_received(REQUEST)
    for _ in range(50):  # let the handshake and the app's accept go through
        await asyncio.sleep(0)
    try:
        return await _pump(protocol.data_received, frame, messages, done, batch)
    finally:
        await _hang_up(protocol)


async def _pump(
    feed: Callable[[bytes], None], frame: bytes, messages: int, done: asyncio.Event, batch: int
) -> float:
    """Feed `messages` frames, `batch` per loop turn (1: a call's pace, one frame per read; more: a server
    that fell behind reads several at once); CPU seconds until every message was echoed."""
    started = time.process_time()
    for sent in range(0, messages, batch):
        feed(frame * min(batch, messages - sent))
        await asyncio.sleep(0)
    await asyncio.wait_for(done.wait(), 60)
    return time.process_time() - started


async def _hang_up(protocol: Any) -> None:
    """The client goes away: the app sees the disconnect and its task ends before the next candidate."""
    protocol.connection_lost(None)
    for _ in range(50):
        await asyncio.sleep(0)


def candidates() -> list[str]:
    names = ["direct", "websockets-sansio", "websockets"]
    try:
        import wsproto  # noqa: F401
    except ImportError:
        return names
    return [*names, "wsproto"]


async def measure(messages: int, repeats: int, batch: int) -> dict[str, Any]:
    frame = audio_message()
    results: dict[str, Any] = {}
    for name in candidates():
        runs = []
        for _ in range(repeats):
            if name == "direct":
                runs.append(await run_direct(frame, messages, batch))
            else:
                runs.append(await run_uvicorn(name, frame, messages, batch))
        results[name] = {
            "us_per_message": round(min(runs) * 1e6 / messages, 2),
            "runs_us_per_message": [round(r * 1e6 / messages, 2) for r in runs],
        }
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ws_cost", description=__doc__)
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch", type=int, default=1, help="frames per read (1: one call's pace)")
    parser.add_argument("--out", type=Path, default=None, help="write ws_cost.json here")
    args = parser.parse_args(argv)
    import uvloop

    result = {
        "name": "ws_cost",
        "unit": "CPU us per message in + one agent frame out (best run)",
        "load_average": os.getloadavg(),
        "messages": args.messages,
        "frames_per_read": args.batch,
        "candidates": uvloop.run(measure(args.messages, args.repeats, args.batch)),
    }
    text = json.dumps(result, indent=2)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "ws_cost.json").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
