"""X-Twilio-Signature: base64 HMAC-SHA1 of the full URL followed by the sorted POST params (DESIGN.md, "Wire
facts"), checked against a signature computed independently (by hand, below) and the simulator's signer."""

from __future__ import annotations

import base64
import hashlib
import hmac
from xml.etree import ElementTree

from apps.backend.twilio.signature import signature_matches, twilio_signature
from apps.backend.twilio.twiml import connect_stream
from apps.twilio_simulator.phone import parse_twiml, sign

TOKEN = "12345"
URL = "https://example.com/api/v1/twilio/voice?x=1"
PARAMS = [("To", "+18005550100"), ("CallSid", "CA1"), ("From", "+14255550123"), ("Digits", "")]


def _by_hand(token: str, data: str) -> str:
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def test_signature_is_hmac_sha1_over_url_and_sorted_name_value_pairs() -> None:
    expected = _by_hand(TOKEN, URL + "CallSidCA1Digits" + "From+14255550123To+18005550100")
    assert twilio_signature(TOKEN, URL, PARAMS) == expected
    assert sign(TOKEN, URL, dict(PARAMS)) == expected  # the simulator signs exactly as we check


def test_twilios_published_example_signs_the_same() -> None:
    """The worked example in Twilio's webhook-security docs: token 12345, this URL and these five params."""
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+12349013030",
        "Digits": "1234",
        "From": "+12349013030",
        "To": "+18005551212",
    }
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert twilio_signature("12345", url, list(params.items())) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


def test_good_signature_matches() -> None:
    assert signature_matches(TOKEN, URL, PARAMS, twilio_signature(TOKEN, URL, PARAMS))


def test_bad_missing_and_wrong_url_or_token_do_not_match() -> None:
    good = twilio_signature(TOKEN, URL, PARAMS)
    assert not signature_matches(TOKEN, URL, PARAMS, None)
    assert not signature_matches(TOKEN, URL, PARAMS, "")
    assert not signature_matches(TOKEN, URL, PARAMS, good[:-2] + "AA")
    assert not signature_matches(
        TOKEN, "https://example.com/api/v1/twilio/voice", PARAMS, good
    )  # query dropped
    assert not signature_matches(TOKEN, URL.replace("https", "http"), PARAMS, good)
    assert not signature_matches("54321", URL, PARAMS, good)
    assert not signature_matches(TOKEN, URL, [*PARAMS[:-1], ("Digits", "1")], good)  # a tampered parameter


def test_twiml_connects_the_stream_with_escaped_parameters() -> None:
    text = connect_stream("wss://host/api/v1/twilio/media", {"token": 'a"b<c>&d'})
    root = ElementTree.fromstring(text)
    assert root.tag == "Response" and [c.tag for c in root] == ["Connect"]
    stream = parse_twiml(text)
    assert stream.url == "wss://host/api/v1/twilio/media" and stream.parameters == {"token": 'a"b<c>&d'}
