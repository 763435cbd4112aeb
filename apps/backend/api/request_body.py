"""Request bodies read with a limit: a declared Content-Length over it is refused before reading, and a body
streamed past it is refused at the first chunk over (never buffered whole first)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import HTTPException, Request, status


async def read_limited(request: Request, max_bytes: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise HTTPException(status.HTTP_400_BAD_REQUEST, "Content-Length is not a number")
        if int(declared) > max_bytes:
            raise _too_large(max_bytes)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise _too_large(max_bytes)
    return bytes(body)


def _too_large(max_bytes: int) -> HTTPException:
    return HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"body is larger than {max_bytes // 1024} kB")


async def read_json_array(request: Request, max_bytes: int) -> list[Any]:
    """A JSON array of events (a single object is taken as an array of one)."""
    try:
        body = orjson.loads(await read_limited(request, max_bytes))
    except orjson.JSONDecodeError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"body is not JSON: {exc}") from exc
    if isinstance(body, dict):
        body = [body]
    if not isinstance(body, list):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "body must be a JSON array of events")
    return body
