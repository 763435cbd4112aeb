"""One dependency's part in readiness (GET /api/v1/readiness lists them; the console's Health page shows each)."""

from __future__ import annotations

from pydantic import BaseModel


class DependencyCheck(BaseModel):
    name: str
    """What is depended on: redis, registry, tts."""
    ok: bool
    detail: str
    """What it is when ok (e.g. `embedded`), or the readiness problem it causes when not."""
