"""A simulated Twilio phone call: POST the incoming-call webhook signed like Twilio (X-Twilio-Signature), read
the TwiML, open the `<Connect><Stream>` WebSocket and talk to the agent with a caller script; the caller hangs
up (`stop`) once the script is done and the agent has been quiet a while, or the backend ends the stream.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode
from xml.etree import ElementTree

import httpx

from apps.acs_simulator import timeline as tl
from apps.acs_simulator.caller_audio import CallerStep, validate_script
from apps.twilio_simulator.rest_api import TwilioRestApi
from apps.twilio_simulator.stream import TwilioStream

VOICE_PATH = "/api/v1/twilio/voice"


def sign(auth_token: str, url: str, params: dict[str, str]) -> str:
    """What Twilio puts in X-Twilio-Signature: base64 HMAC-SHA1 over the URL and the sorted name+value pairs."""
    data = url + "".join(name + params[name] for name in sorted(params))
    return base64.b64encode(hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()).decode()


@dataclass(frozen=True)
class StreamInstruction:
    url: str
    parameters: dict[str, str]


def parse_twiml(text: str) -> StreamInstruction:
    """The `<Connect><Stream>` of a TwiML answer; ValueError when there is none."""
    root = ElementTree.fromstring(text)
    stream = root.find("./Connect/Stream")
    if root.tag != "Response" or stream is None or not stream.get("url"):
        raise ValueError(f"TwiML without <Connect><Stream url>: {text[:200]}")
    parameters = {p.get("name", ""): p.get("value", "") for p in stream.findall("Parameter")}
    return StreamInstruction(url=stream.get("url", ""), parameters=parameters)


@dataclass
class TwilioCallResult:
    call_sid: str
    webhook_status: int
    webhook_body: str
    stream: StreamInstruction | None = None
    connected: bool = False
    agent_pcm: bytes = b""
    clears: int = 0
    marks_echoed: list[str] = field(default_factory=list)
    close_code: int | None = None
    close_reason: str = ""
    hung_up_by: str = ""
    script_error: str | None = None
    redirect_twiml: str | None = None
    """The TwiML the call was redirected to through the REST API (hung_up_by "redirect")."""
    timeline: tl.Timeline = field(default_factory=tl.Timeline)

    @property
    def agent_audio_s(self) -> float:
        """Seconds of agent speech heard (voiced frames only)."""
        starts_stops = self.timeline.of(tl.AGENT_AUDIO_START), self.timeline.of(tl.AGENT_AUDIO_STOP)
        return sum(stop.t_ms - start.t_ms for start, stop in zip(*starts_stops, strict=False)) / 1000


async def place_twilio_call(
    backend_url: str,
    script: Sequence[CallerStep] = (),
    *,
    auth_token: str,
    to_number: str = "+18005550100",
    from_number: str = "+14255550123",
    signed_url: str | None = None,
    signature: str | None = None,
    hang_up_after_silence_s: float = 2.0,
    max_duration_s: float = 60.0,
    rest_api: TwilioRestApi | None = None,
) -> TwilioCallResult:
    """One call. `signed_url`: the URL to sign (default: the one posted to); `signature`: send this instead;
    `rest_api`: Twilio's REST API the backend may update the call through (its account owns the call)."""
    validate_script(script)
    call_sid = "CA" + uuid.uuid4().hex
    account_sid = rest_api.account_sid if rest_api is not None else "AC" + uuid.uuid4().hex
    params = {
        "AccountSid": account_sid,
        "ApiVersion": "2010-04-01",
        "CallSid": call_sid,
        "CallStatus": "ringing",
        "Called": to_number,
        "Caller": from_number,
        "Direction": "inbound",
        "From": from_number,
        "To": to_number,
    }
    url = backend_url.rstrip("/") + VOICE_PATH
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if signature != "":
        headers["X-Twilio-Signature"] = signature or sign(auth_token, signed_url or url, params)
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.post(url, content=urlencode(params), headers=headers)
    result = TwilioCallResult(
        call_sid=call_sid, webhook_status=response.status_code, webhook_body=response.text
    )
    if response.status_code != 200:
        return result
    result.stream = parse_twiml(response.text)
    stream = TwilioStream(
        result.stream.url,
        call_sid=call_sid,
        account_sid=account_sid,
        parameters=result.stream.parameters,
        timeline=result.timeline,
    )
    await stream.connect()
    result.connected = True
    if rest_api is not None:
        rest_api.attach(call_sid, stream)
    try:
        result.hung_up_by, result.script_error = await _converse(
            stream, script, hang_up_after_silence_s, max_duration_s
        )
    finally:
        if rest_api is not None:
            rest_api.detach(call_sid)
        await stream.hang_up()
    result.redirect_twiml = stream.redirect_twiml
    result.agent_pcm = bytes(stream.playout.recording)
    result.clears = stream.playout.clears
    result.marks_echoed = stream.marks_echoed
    result.close_code, result.close_reason = stream.close_code, stream.close_reason
    return result


async def _converse(
    stream: TwilioStream, script: Sequence[CallerStep], silence_s: float, max_duration_s: float
) -> tuple[str, str | None]:
    """Who ended the call, and the script's error if it failed."""

    talk = asyncio.create_task(stream.play_script(script, silence_s, max_duration_s))
    closed = asyncio.create_task(stream.closed_by_backend.wait())
    redirected = asyncio.create_task(stream.redirected.wait())
    try:
        done, _ = await asyncio.wait(
            {talk, closed, redirected}, timeout=max_duration_s, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        for task in (talk, closed, redirected):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.gather(talk, closed, redirected, return_exceptions=True)
    if redirected in done:
        return "redirect", None
    if closed in done:
        return "backend", None
    if talk in done and not talk.cancelled() and talk.exception() is not None:
        return "caller", str(talk.exception())
    return "caller", None
