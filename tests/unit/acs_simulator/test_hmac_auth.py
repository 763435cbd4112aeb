"""HMAC-SHA256 request authentication, checked against the SDK's own signing policy."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from azure.communication.callautomation._shared.policy import HMACCredentialsPolicy
from azure.core.credentials import AzureKeyCredential
from azure.core.pipeline import PipelineContext, PipelineRequest
from azure.core.rest import HttpRequest
from starlette.datastructures import Headers

from apps import loopback_acs as defaults
from apps.acs_simulator.hmac_auth import HmacAuthError, content_hash, sign_request, verify_request

KEY = defaults.SIMULATOR_ACCESS_KEY
URL = "http://127.0.0.1:8090/calling/callConnections:answer?api-version=2026-03-12"
PATH = "/calling/callConnections:answer?api-version=2026-03-12"
BODY = b'{"incomingCallContext":"abc","callbackUri":"http://127.0.0.1:8000/cb"}'


def headers_for(signed: dict[str, str], host: str = "127.0.0.1:8090") -> Headers:
    return Headers({**signed, "host": host})


def test_a_correctly_signed_request_verifies():
    verify_request(KEY, "POST", PATH, headers_for(sign_request(KEY, "POST", URL, BODY)), BODY)


def test_the_sdk_policy_signature_verifies():
    request = HttpRequest("POST", URL, content=BODY.decode())
    request.body = BODY.decode()  # the policy hashes http_request.body, as the SDK pipeline sets it
    policy = HMACCredentialsPolicy("http://127.0.0.1:8090", AzureKeyCredential(KEY))
    policy.on_request(PipelineRequest(request, PipelineContext(None)))
    signed = {k: request.headers[k] for k in ("x-ms-date", "x-ms-content-sha256", "Authorization")}
    verify_request(KEY, "POST", PATH, headers_for(signed), BODY)


def test_a_tampered_body_is_rejected():
    signed = sign_request(KEY, "POST", URL, BODY)
    with pytest.raises(HmacAuthError, match="does not match the request body"):
        verify_request(KEY, "POST", PATH, headers_for(signed), BODY.replace(b"abc", b"abd"))


def test_a_rehashed_tampered_body_still_fails_the_signature():
    signed = sign_request(KEY, "POST", URL, BODY)
    tampered = BODY.replace(b"abc", b"abd")
    signed["x-ms-content-sha256"] = content_hash(tampered)
    with pytest.raises(HmacAuthError, match="signature does not match"):
        verify_request(KEY, "POST", PATH, headers_for(signed), tampered)


def test_a_different_key_is_rejected():
    other = base64.b64encode(b"someone-else's-key").decode()
    with pytest.raises(HmacAuthError, match="signature does not match"):
        verify_request(KEY, "POST", PATH, headers_for(sign_request(other, "POST", URL, BODY)), BODY)


def test_another_path_or_host_is_rejected():
    signed = sign_request(KEY, "POST", URL, BODY)
    with pytest.raises(HmacAuthError):
        verify_request(
            KEY, "POST", "/calling/callConnections?api-version=2026-03-12", headers_for(signed), BODY
        )
    with pytest.raises(HmacAuthError):
        verify_request(KEY, "POST", PATH, headers_for(signed, host="127.0.0.1:9999"), BODY)


@pytest.mark.parametrize("skew", [timedelta(minutes=16), timedelta(minutes=-16)])
def test_a_stale_or_future_date_is_rejected(skew):
    signed = sign_request(KEY, "POST", URL, BODY, now=datetime.now(UTC) - skew)
    with pytest.raises(HmacAuthError, match="15 minutes"):
        verify_request(KEY, "POST", PATH, headers_for(signed), BODY)


def test_a_date_within_fifteen_minutes_is_accepted():
    signed = sign_request(KEY, "POST", URL, BODY, now=datetime.now(UTC) - timedelta(minutes=14))
    verify_request(KEY, "POST", PATH, headers_for(signed), BODY)


def test_missing_or_foreign_authorization_is_rejected():
    signed = sign_request(KEY, "POST", URL, BODY)
    without = {k: v for k, v in signed.items() if k != "Authorization"}
    with pytest.raises(HmacAuthError, match="missing the Authorization"):
        verify_request(KEY, "POST", PATH, headers_for(without), BODY)
    with pytest.raises(HmacAuthError, match="scheme"):
        verify_request(KEY, "POST", PATH, headers_for({**signed, "Authorization": "Bearer x"}), BODY)


def test_an_endpoint_signed_with_a_trailing_slash_gets_a_hint():
    request = HttpRequest("GET", "http://127.0.0.1:8090/calling/callConnections/x?api-version=2026-03-12")
    HMACCredentialsPolicy("http://127.0.0.1:8090/", KEY).on_request(
        PipelineRequest(request, PipelineContext(None))
    )
    signed = {k: request.headers[k] for k in ("x-ms-date", "x-ms-content-sha256", "Authorization")}
    with pytest.raises(HmacAuthError, match="trailing slash"):
        verify_request(
            KEY, "GET", "/calling/callConnections/x?api-version=2026-03-12", headers_for(signed), b""
        )
