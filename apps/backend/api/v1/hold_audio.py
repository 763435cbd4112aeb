"""GET /api/v1/audio/hold.wav: the service's own hold audio (`apps.backend.hold_audio`), fetched by ACS when a
warm transfer puts the caller on hold and HOLD_MUSIC_URL is unset. No key: ACS fetches it anonymously, and it
is fixed, generated audio."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from apps.backend.hold_audio import hold_audio_wav

router = APIRouter(tags=["telephony"])


@router.api_route("/audio/hold.wav", methods=["GET", "HEAD"], include_in_schema=True)
async def hold_audio() -> Response:
    """The hold chime: 16 kHz mono 16-bit PCM WAV, a few seconds long, meant to be looped."""
    return Response(
        await hold_audio_wav(), media_type="audio/wav", headers={"Cache-Control": "public, max-age=86400"}
    )
