"""GET /api/v1/calls?cursor=...: only a cursor the API handed out pages on; anything else is a 400, never a 500."""

from __future__ import annotations

import base64
from datetime import timedelta

from apps.backend.storage.call_store import CallDirection, CallRecord, utcnow
from tests.support import Backend


def _b64(raw: bytes | str) -> str:
    data = raw.encode() if isinstance(raw, str) else raw
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


async def test_only_cursors_the_api_handed_out_are_accepted(backend: Backend) -> None:
    now = utcnow()
    for index in range(3):
        record = CallRecord(
            call_id=f"call-{index}",
            direction=CallDirection.INBOUND,
            scenario="banking",
            created_at=now - timedelta(seconds=10 * index),
        )
        await backend.runtime.calls.store.create(record)
    async with backend.admin() as admin:
        first = await admin.get("/api/v1/calls", params={"limit": 1})
        issued = first.json()["next_cursor"]
        second = await admin.get("/api/v1/calls", params={"limit": 1, "cursor": issued})
        assert second.status_code == 200, second.text
        assert [c["call_id"] for c in second.json()["calls"]] == ["call-1"]

        score = base64.urlsafe_b64decode(issued + "==").decode().split(":")[0]
        bad = {
            "not base64": "not base64!!",
            "nan": _b64("nan:x"),
            "NaN": _b64("NaN:call-1"),
            "inf": _b64("inf:x"),
            "-inf": _b64("-inf:x"),
            "huge": "A" * 10_000,
            "huge member": _b64(f"{score}:{'a' * 5000}"),
            "empty member": _b64(f"{score}:"),
            "no separator": _b64(score),
            "empty score": _b64(":call-1"),
            "non-UTF-8": _b64(b"\xff\xfe:x"),
            "non-UTF-8 member": _b64(f"{score}:".encode() + b"\xff"),
            "bad member": _b64(f"{score}:../call 1"),
            "score spelled otherwise": _b64(f"{float(score):e}:call-1"),
            "score with spaces": _b64(f" {score}:call-1"),
            "padded": issued + "==",
            "extra character": issued + "+",
        }
        statuses = {}
        for name, cursor in bad.items():
            response = await admin.get("/api/v1/calls", params={"cursor": cursor})
            is_json = response.headers["content-type"] == "application/json"
            statuses[name] = (
                response.status_code,
                response.json().get("detail") if is_json else response.text,
            )
    assert statuses == dict.fromkeys(bad, (400, "cursor is not one this API handed out"))
