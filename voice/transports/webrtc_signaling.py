"""The WebRTC channel's external shapes: the SDP offer and trickled ICE candidates we accept, the data channel
messages, and the errors bad input gets (all `ValueError`s, so an HTTP layer maps them to one 4xx).

aiortc's own SDP parser is lenient (garbage parses to a description with no media) and fails on some malformed
lines with a bare AssertionError, so the offer is checked here first and every parser failure becomes
`InvalidOffer` with a reason.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints

if TYPE_CHECKING:  # aiortc costs ~0.3 s of the service's start-up: imported when a WebRTC peer first needs it
    from aiortc import RTCIceCandidate
    from aiortc.sdp import SessionDescription

MAX_SDP_BYTES: Final = 64 * 1024
MAX_CANDIDATE_BYTES: Final = 1024


class WebRtcError(ValueError):
    """Bad signaling input from the browser; the message is safe to return to it."""


class InvalidOffer(WebRtcError):
    pass


class InvalidCandidate(WebRtcError):
    pass


class SignalingStateError(WebRtcError):
    """A signaling step out of order: candidates before the offer, a second offer, anything after close."""


def check_offer(sdp: str) -> SessionDescription:
    """The parsed offer, or `InvalidOffer` saying what is wrong with it."""
    if len(sdp.encode()) > MAX_SDP_BYTES:
        raise InvalidOffer(f"SDP offer larger than {MAX_SDP_BYTES} bytes")
    if not sdp.lstrip().startswith("v=0"):
        raise InvalidOffer("not an SDP description (must start with v=0)")
    from aiortc.sdp import SessionDescription

    try:
        parsed = SessionDescription.parse(sdp)
    except Exception as exc:  # aiortc's parser raises AssertionError, ValueError, IndexError...
        raise InvalidOffer(f"malformed SDP offer ({type(exc).__name__})") from exc
    audio = [media for media in parsed.media if media.kind == "audio"]
    if not audio:
        raise InvalidOffer("the SDP offer has no audio section")
    if not any(media.rtp.codecs for media in audio):
        raise InvalidOffer("the SDP offer's audio section lists no codecs")
    return parsed


def parse_candidate(candidate: str, sdp_mid: str | None, sdp_mline_index: int | None) -> RTCIceCandidate:
    """A trickled candidate as the browser's `RTCIceCandidate.toJSON()` gives it (`candidate:...` line)."""
    if len(candidate) > MAX_CANDIDATE_BYTES:
        raise InvalidCandidate(f"ICE candidate longer than {MAX_CANDIDATE_BYTES} characters")
    if sdp_mid is None and sdp_mline_index is None:
        raise InvalidCandidate("an ICE candidate needs sdpMid or sdpMLineIndex")
    from aiortc.sdp import candidate_from_sdp

    line = candidate.strip().removeprefix("a=").removeprefix("candidate:")
    try:
        parsed = candidate_from_sdp(line)
    except Exception as exc:
        raise InvalidCandidate(f"malformed ICE candidate ({type(exc).__name__})") from exc
    parsed.sdpMid = sdp_mid
    parsed.sdpMLineIndex = sdp_mline_index
    return parsed


_DIGITS = re.compile(r"^[0-9*#A-D]{1,32}$")


class DtmfMessage(BaseModel):
    """`{"type": "dtmf", "digits": "12#"}` on the data channel: keys pressed on the page's keypad."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    type: Literal["dtmf"]
    digits: Annotated[str, StringConstraints(pattern=_DIGITS.pattern)]
