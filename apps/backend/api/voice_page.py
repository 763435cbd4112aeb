"""GET /voice/: a small page to talk to an agent from a browser over WebRTC (`apps/backend/web/voice`).

It holds no data and no secret: it creates a session like any client would (the admin key typed into the page,
or none when SESSIONS_AUTH=demo), so serving it openly grants nothing."""

from __future__ import annotations

from pathlib import Path

from fastapi.staticfiles import StaticFiles

VOICE_PAGE_DIR = Path(__file__).resolve().parents[1] / "web" / "voice"


def voice_page() -> StaticFiles:
    return StaticFiles(directory=VOICE_PAGE_DIR, html=True)
