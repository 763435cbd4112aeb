"""Twilio's request signature (`X-Twilio-Signature`): base64(HMAC-SHA1(auth token, URL + params)).

The URL is the full URL Twilio requested (scheme, host, path and query string, as configured in the phone
number's webhook), followed by every POST parameter, sorted by name (then value), as name + value with no
separators. We rebuild the URL from PUBLIC_BASE_URL, not from the Host header a proxy may have rewritten.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable


def twilio_signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    data = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def signature_matches(
    auth_token: str, url: str, params: Iterable[tuple[str, str]], signature: str | None
) -> bool:
    """Constant-time check of a request's signature; False when it is missing."""
    if not signature:
        return False
    expected = twilio_signature(auth_token, url, params)
    return hmac.compare_digest(expected.encode(), signature.strip().encode())
