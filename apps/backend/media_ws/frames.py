"""RFC 6455 on the server side, just what the media socket needs: the upgrade request, the 101 answer, and
frames in both directions.

Parsing works on one bytearray per connection: every complete frame in it is consumed in one pass (a
batch, when the network delivered several), unmasked with websockets' C `apply_mask`, and handed back as
(opcode, payload). Fragmented messages are reassembled; control frames may interleave with them.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

try:  # websockets' C unmask; its pure-Python twin where the wheel has no speedups
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover
    from websockets.utils import apply_mask

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_CONTINUATION = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA
MAX_REQUEST_BYTES = 16 * 1024


class FrameError(Exception):
    """The peer broke the protocol: close the connection with `code`."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True, slots=True)
class UpgradeRequest:
    path: str
    query: str
    headers: dict[str, str]  # lower-case names; a repeated header keeps its last value

    @property
    def target(self) -> str:
        return self.path + (f"?{self.query}" if self.query else "")


def parse_upgrade(raw: bytes) -> UpgradeRequest:
    """The request head (up to and without the blank line). Raises FrameError on anything but a
    WebSocket upgrade."""
    try:
        text = raw.decode("latin-1")
        request_line, *lines = text.split("\r\n")
        method, target, _version = request_line.split(" ", 2)
    except ValueError as exc:
        raise FrameError(1002, "bad request line") from exc
    if method != "GET":
        raise FrameError(1002, "upgrade must be a GET")
    headers: dict[str, str] = {}
    for line in lines:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise FrameError(1002, "bad header line")
        headers[name.strip().lower()] = value.strip()
    if headers.get("upgrade", "").lower() != "websocket" or "sec-websocket-key" not in headers:
        raise FrameError(1002, "not a websocket upgrade")
    path, _, query = target.partition("?")
    return UpgradeRequest(path, query, headers)


def accept_response(key: str, extra_headers: list[tuple[bytes, bytes]] | None = None) -> bytes:
    accept = base64.b64encode(hashlib.sha1(key.encode("latin-1") + GUID).digest())
    lines = [
        b"HTTP/1.1 101 Switching Protocols",
        b"Upgrade: websocket",
        b"Connection: Upgrade",
        b"Sec-WebSocket-Accept: " + accept,
        *(name + b": " + value for name, value in extra_headers or ()),
    ]
    return b"\r\n".join(lines) + b"\r\n\r\n"


def frame_header(opcode: int, length: int) -> bytes:
    """Header of a final, unmasked server frame."""
    if length < 126:
        return bytes((0x80 | opcode, length))
    if length < 1 << 16:
        return bytes((0x80 | opcode, 126)) + length.to_bytes(2, "big")
    return bytes((0x80 | opcode, 127)) + length.to_bytes(8, "big")


def close_payload(code: int, reason: str) -> bytes:
    return code.to_bytes(2, "big") + reason.encode()[:123]


def parse_close(payload: bytes) -> tuple[int, str]:
    if len(payload) < 2:
        return 1005, ""
    return int.from_bytes(payload[:2], "big"), payload[2:].decode("utf-8", errors="replace")


class FrameReader:
    """Whole messages out of a client's byte stream. `feed` returns [(opcode, payload), ...] for every
    message completed by the bytes so far: text/binary messages (reassembled) and control frames."""

    __slots__ = ("_buf", "_fragment_opcode", "_fragment_size", "_fragments", "max_size")

    def __init__(self, max_size: int) -> None:
        self.max_size = max_size
        self._buf = bytearray()
        self._fragments: list[bytes] = []
        self._fragment_opcode = 0
        self._fragment_size = 0

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        buf = self._buf
        buf += data
        out: list[tuple[int, bytes]] = []
        pos, size = 0, len(buf)
        while size - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            if not b1 & 0x80:
                raise FrameError(1002, "client frames must be masked")
            if b0 & 0x70:
                raise FrameError(1002, "reserved bits set (no extension was negotiated)")
            length, header = b1 & 0x7F, 6
            if length == 126:
                if size - pos < 8:
                    break
                length, header = (buf[pos + 2] << 8) | buf[pos + 3], 8
            elif length == 127:
                if size - pos < 14:
                    break
                length, header = int.from_bytes(buf[pos + 2 : pos + 10], "big"), 14
            if length > self.max_size:
                raise FrameError(1009, "message too big")
            end = pos + header + length
            if end > size:
                break
            mask = bytes(buf[pos + header - 4 : pos + header])
            payload = apply_mask(buf[pos + header : end], mask)
            pos = end
            opcode, fin = b0 & 0x0F, b0 & 0x80
            if opcode >= 0x8:
                if not fin or length > 125:
                    raise FrameError(1002, "bad control frame")
                out.append((opcode, payload))
            elif opcode == OP_CONTINUATION:
                if not self._fragments:
                    raise FrameError(1002, "continuation without a message")
                self._add_fragment(payload)
                if fin:
                    out.append((self._fragment_opcode, b"".join(self._fragments)))
                    self._fragments.clear()
            elif opcode in (OP_TEXT, OP_BINARY):
                if self._fragments:
                    raise FrameError(1002, "new message inside a fragmented one")
                if fin:
                    out.append((opcode, payload))
                else:
                    self._fragment_opcode, self._fragment_size = opcode, 0
                    self._add_fragment(payload)
            else:
                raise FrameError(1002, f"unknown opcode {opcode}")
        if pos:
            del buf[:pos]
        if len(buf) > self.max_size + 14:
            raise FrameError(1009, "message too big")
        return out

    def _add_fragment(self, payload: bytes) -> None:
        self._fragment_size += len(payload)
        if self._fragment_size > self.max_size:
            raise FrameError(1009, "message too big")
        self._fragments.append(payload)
