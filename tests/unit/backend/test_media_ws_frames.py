"""The media socket's own RFC 6455 codec: upgrade parsing, the accept key, and client frames in and out of
batches, fragments and broken input."""

from __future__ import annotations

import os

import pytest

from apps.backend.media_ws.frames import (
    OP_BINARY,
    OP_CLOSE,
    OP_CONTINUATION,
    OP_PING,
    OP_TEXT,
    FrameError,
    FrameReader,
    accept_response,
    close_payload,
    frame_header,
    parse_close,
    parse_upgrade,
)


def client_frame(
    payload: bytes, opcode: int = OP_TEXT, *, fin: bool = True, mask: bytes | None = None
) -> bytes:
    """A client frame as any WebSocket client sends it: masked with a random key."""
    key = mask if mask is not None else os.urandom(4)
    first = (0x80 if fin else 0) | opcode
    n = len(payload)
    if n < 126:
        head = bytes([first, 0x80 | n])
    elif n < 1 << 16:
        head = bytes([first, 0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([first, 0x80 | 127]) + n.to_bytes(8, "big")
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return head + key + masked


def test_the_accept_key_is_the_rfc_example() -> None:
    response = accept_response("dGhlIHNhbXBsZSBub25jZQ==")
    assert response.startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
    assert b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" in response
    assert response.endswith(b"\r\n\r\n")


def test_an_upgrade_request_is_parsed_with_lower_case_headers() -> None:
    request = parse_upgrade(
        b"GET /api/v1/media/stream?token=abc&x=1 HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: k==\r\nx-ms-call-connection-id: cc-1"
    )
    assert request.path == "/api/v1/media/stream" and request.query == "token=abc&x=1"
    assert request.headers["x-ms-call-connection-id"] == "cc-1"
    assert request.target == "/api/v1/media/stream?token=abc&x=1"


@pytest.mark.parametrize(
    "head",
    [
        b"POST /x HTTP/1.1\r\nUpgrade: websocket\r\nSec-WebSocket-Key: k",
        b"GET /x HTTP/1.1\r\nSec-WebSocket-Key: k",
        b"GET /x HTTP/1.1\r\nUpgrade: websocket",
        b"garbage",
        b"GET /x HTTP/1.1\r\nUpgrade websocket",
    ],
)
def test_anything_but_a_websocket_upgrade_is_refused(head: bytes) -> None:
    with pytest.raises(FrameError):
        parse_upgrade(head)


def test_a_batch_of_frames_in_one_read_comes_out_in_order() -> None:
    reader = FrameReader(max_size=1 << 20)
    big = b"x" * 70_000  # 64-bit length
    medium = b"y" * 900  # 16-bit length, an ACS AudioData message's size
    data = (
        client_frame(b"one")
        + client_frame(medium)
        + client_frame(big, OP_BINARY)
        + client_frame(b"p", OP_PING)
    )
    assert reader.feed(data) == [(OP_TEXT, b"one"), (OP_TEXT, medium), (OP_BINARY, big), (OP_PING, b"p")]


def test_frames_split_anywhere_are_reassembled() -> None:
    reader = FrameReader(max_size=1 << 20)
    data = client_frame(b"a" * 300) + client_frame(b"b")
    out = []
    for i in range(len(data)):
        out += reader.feed(data[i : i + 1])
    assert out == [(OP_TEXT, b"a" * 300), (OP_TEXT, b"b")]


def test_a_fragmented_message_is_joined_around_an_interleaved_ping() -> None:
    reader = FrameReader(max_size=1 << 20)
    data = (
        client_frame(b"hel", OP_TEXT, fin=False)
        + client_frame(b"!", OP_PING)
        + client_frame(b"lo", OP_CONTINUATION, fin=False)
        + client_frame(b"!", OP_CONTINUATION)
    )
    assert reader.feed(data) == [(OP_PING, b"!"), (OP_TEXT, b"hello!")]


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (bytes([0x81, 0x03]) + b"abc", 1002),  # unmasked client frame
        (client_frame(b"x", OP_CONTINUATION), 1002),  # continuation of nothing
        (client_frame(b"x", 0x3), 1002),  # reserved opcode
        (bytes([0xC1]) + client_frame(b"x")[1:], 1002),  # RSV1 without an extension
        (client_frame(b"p" * 200, OP_PING), 1002),  # control frame over 125 bytes
        (client_frame(b"z" * 2000), 1009),  # over max_size
        (client_frame(b"a" * 600, fin=False) + client_frame(b"b" * 600, OP_CONTINUATION), 1009),
    ],
    # Named, not derived from the bytes: the random mask keys would give every xdist worker other ids.
    ids=[
        "unmasked",
        "orphan-continuation",
        "reserved-opcode",
        "rsv1",
        "long-control",
        "too-big",
        "too-big-fragments",
    ],
)
def test_protocol_violations_name_their_close_code(data: bytes, code: int) -> None:
    reader = FrameReader(max_size=1024)
    with pytest.raises(FrameError) as caught:
        reader.feed(data)
    assert caught.value.code == code


def test_server_frames_and_close_payloads() -> None:
    assert frame_header(OP_TEXT, 5) == b"\x81\x05"
    assert frame_header(OP_TEXT, 900) == b"\x81\x7e\x03\x84"
    assert frame_header(OP_BINARY, 70_000) == b"\x82\x7f" + (70_000).to_bytes(8, "big")
    assert parse_close(close_payload(1008, "unknown call")) == (1008, "unknown call")
    assert parse_close(b"") == (1005, "")
    assert frame_header(OP_CLOSE, 2)[0] == 0x88
