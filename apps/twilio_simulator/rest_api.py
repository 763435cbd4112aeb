"""Twilio's REST API, the part the backend uses: update a live call with new TwiML (`Twiml` form field), as
a cold transfer does. `POST /2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json`, HTTP basic auth
AccountSid:AuthToken. Like Twilio, the call then leaves its `<Connect><Stream>`: the media stream gets `stop`
and closes, and the new TwiML runs (here: recorded in `redirects`, with the number a `<Dial>` rings).

    async with TwilioRestApi(auth_token=TOKEN) as twilio:     # backend: TWILIO_API_BASE=twilio.base_url,
        result = await place_twilio_call(url, script, auth_token=TOKEN, rest_api=twilio)  # TWILIO_ACCOUNT_SID
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hmac
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qs
from xml.etree import ElementTree

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from apps.acs_simulator.serving import ServedApp

if TYPE_CHECKING:
    from apps.twilio_simulator.stream import TwilioStream

API_VERSION = "2010-04-01"


@dataclass(frozen=True)
class CallRedirect:
    call_sid: str
    twiml: str
    dialed: str | None
    """The number the new TwiML's `<Dial>` rings, if it has one."""


@dataclass(frozen=True)
class RestRequest:
    method: str
    path: str
    status: int


def dialed_number(twiml: str) -> str | None:
    try:
        root = ElementTree.fromstring(twiml)
    except ElementTree.ParseError:
        return None
    found = root.find("./Dial") if root.tag == "Response" else None
    if found is None:
        return None
    number = found.find("./Number")
    text = (number.text if number is not None else found.text) or ""
    return text.strip() or None


def _error(status: int, code: int, message: str) -> JSONResponse:
    """Twilio's error body."""
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return JSONResponse(body, status_code=status)


class TwilioRestApi:
    def __init__(self, *, auth_token: str, account_sid: str | None = None, port: int = 0) -> None:
        self.auth_token = auth_token
        self.account_sid = account_sid or "AC" + uuid.uuid4().hex
        self.redirects: list[CallRedirect] = []
        self.requests: list[RestRequest] = []
        self._streams: dict[str, TwilioStream] = {}
        self._leaving: set[asyncio.Task[None]] = set()
        route = Route(
            f"/{API_VERSION}/Accounts/{{account}}/Calls/{{call}}.json", self._update, methods=["POST"]
        )
        self._served = ServedApp(Starlette(routes=[route]), port=port)

    @property
    def base_url(self) -> str:
        return self._served.base_url

    async def __aenter__(self) -> TwilioRestApi:
        await self._served.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        for task in list(self._leaving):
            with contextlib.suppress(Exception):
                await task
        await self._served.stop()

    def attach(self, call_sid: str, stream: TwilioStream) -> None:
        """A call whose stream is live (place_twilio_call does this)."""
        self._streams[call_sid] = stream

    def detach(self, call_sid: str) -> None:
        self._streams.pop(call_sid, None)

    def _authorized(self, header: str | None) -> bool:
        scheme, _, encoded = (header or "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return hmac.compare_digest(user.encode(), self.account_sid.encode()) and hmac.compare_digest(
            password.encode(), self.auth_token.encode()
        )

    async def _update(self, request: Request) -> JSONResponse:
        response = await self._answer(request)
        self.requests.append(RestRequest(request.method, request.url.path, response.status_code))
        return response

    async def _answer(self, request: Request) -> JSONResponse:
        if not self._authorized(request.headers.get("authorization")):
            return _error(401, 20003, "Authenticate")
        account, call_sid = request.path_params["account"], request.path_params["call"]
        stream = self._streams.get(call_sid)
        if account != self.account_sid or stream is None:
            return _error(
                404,
                20404,
                f"The requested resource /{API_VERSION}/Accounts/{account}/Calls/{call_sid}.json was not found",
            )
        form = parse_qs((await request.body()).decode("utf-8", "replace"))  # x-www-form-urlencoded
        twiml = (form.get("Twiml") or [""])[0]
        if not twiml.strip():
            return _error(400, 21205, "Url or Twiml is required")  # the simulator implements Twiml only
        if stream.redirected.is_set() or stream.closed_by_backend.is_set():
            return _error(400, 21220, "Call is not in-progress. Cannot redirect.")
        redirect = CallRedirect(call_sid=call_sid, twiml=twiml, dialed=dialed_number(twiml))
        self.redirects.append(redirect)
        task = asyncio.create_task(stream.leave_stream(twiml), name="twilio-sim-redirect")
        self._leaving.add(task)
        task.add_done_callback(self._leaving.discard)
        body = {
            "sid": call_sid,
            "account_sid": self.account_sid,
            "status": "in-progress",
            "api_version": API_VERSION,
        }
        return JSONResponse(body)
