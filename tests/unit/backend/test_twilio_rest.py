"""The Twilio REST client a cold transfer uses: the call update request exactly as Twilio documents it, and
refusals surfacing as TwilioRestError (so the agent apologises instead of going quiet)."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs

import httpx
import pytest
from pydantic import SecretStr, ValidationError

from apps.backend.settings import Settings
from apps.backend.twilio.rest import TwilioRest, TwilioRestError
from apps.backend.twilio.twiml import dial

ACCOUNT = "AC" + "1" * 32
TOKEN = "secret-auth-token"


def _client(handler: httpx.MockTransport) -> TwilioRest:
    return TwilioRest(
        account_sid=ACCOUNT,
        auth_token=SecretStr(TOKEN),
        api_base="https://api.twilio.example/",
        transport=handler,
    )


async def test_a_redirect_posts_the_twiml_to_the_call_with_basic_auth() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"sid": "CA1", "status": "in-progress"})

    await _client(httpx.MockTransport(handler)).redirect_call("CA" + "2" * 32, dial("+18005550199"))
    (request,) = seen
    assert request.method == "POST"
    assert (
        str(request.url)
        == f"https://api.twilio.example/2010-04-01/Accounts/{ACCOUNT}/Calls/CA{'2' * 32}.json"
    )
    assert (
        request.headers["authorization"]
        == "Basic " + base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()
    )
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert parse_qs(request.content.decode()) == {"Twiml": ["<Response><Dial>+18005550199</Dial></Response>"]}


@pytest.mark.parametrize("status", [401, 404, 500])
async def test_a_refusal_is_an_error_with_its_status(status: int) -> None:
    client = _client(httpx.MockTransport(lambda _: httpx.Response(status, json={"code": 20003})))
    with pytest.raises(TwilioRestError) as raised:
        await client.redirect_call("CA1", dial("+18005550199"))
    assert raised.value.status == status


async def test_an_unreachable_api_is_an_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(TwilioRestError) as raised:
        await _client(httpx.MockTransport(handler)).redirect_call("CA1", dial("+18005550199"))
    assert raised.value.status is None


def test_the_settings_check_the_account_sid_and_api_base() -> None:
    settings = Settings(_env_file=None, twilio_account_sid=ACCOUNT, twilio_api_base="http://127.0.0.1:8099/")
    assert settings.twilio_api_base == "http://127.0.0.1:8099"
    assert Settings(_env_file=None).twilio_api_base == "https://api.twilio.com"
    with pytest.raises(ValidationError):
        Settings(_env_file=None, twilio_account_sid="not-a-sid")
    with pytest.raises(ValidationError):
        Settings(_env_file=None, twilio_api_base="api.twilio.com")
