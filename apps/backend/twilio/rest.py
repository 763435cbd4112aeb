"""The part of Twilio's REST API the service uses: redirect a live call to new TwiML (a cold transfer).

POST {TWILIO_API_BASE}/2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json with the form field `Twiml`,
HTTP basic auth AccountSid:AuthToken. Twilio then leaves the call's `<Connect><Stream>` (the media stream gets
`stop` and closes) and runs the new TwiML.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

import httpx
from pydantic import SecretStr

log = logging.getLogger(__name__)

API_VERSION = "2010-04-01"
TIMEOUT_S = 10.0


class TwilioRestError(Exception):
    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class TwilioRest:
    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: SecretStr,
        api_base: str,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._account_sid = account_sid
        self._auth_token = auth_token
        self._api_base = api_base.rstrip("/")
        self._transport = transport  # tests: httpx.MockTransport

    def call_url(self, call_sid: str) -> str:
        account, call = quote(self._account_sid, safe=""), quote(call_sid, safe="")
        return f"{self._api_base}/{API_VERSION}/Accounts/{account}/Calls/{call}.json"

    async def redirect_call(self, call_sid: str, twiml: str) -> None:
        """Replace the live call's TwiML; raises TwilioRestError when Twilio refuses or cannot be reached."""
        auth = httpx.BasicAuth(self._account_sid, self._auth_token.get_secret_value())
        try:
            async with httpx.AsyncClient(timeout=TIMEOUT_S, transport=self._transport) as http:
                response = await http.post(self.call_url(call_sid), data={"Twiml": twiml}, auth=auth)
        except httpx.HTTPError as exc:
            raise TwilioRestError(f"Twilio REST API unreachable: {type(exc).__name__}") from exc
        if response.status_code >= 300:
            raise TwilioRestError(
                f"Twilio refused the call update: {response.status_code}", response.status_code
            )
