"""HMAC-SHA256 request authentication, as ACS checks it on the Call Automation REST API.

The SDK (`azure/communication/callautomation/_shared/policy.py`, `HMACCredentialsPolicy`) signs

    VERB + "\\n" + path_and_query + "\\n" + x-ms-date + ";" + host + ";" + x-ms-content-sha256

with key = base64decode(access key) and sends
`Authorization: HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=<base64>`.
`host` is the endpoint it was built with minus the scheme: an endpoint passed with a trailing slash
signs `127.0.0.1:8090/` and fails against the real Host header, exactly as it would against ACS.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import urlsplit

SCHEME = "HMAC-SHA256"
SIGNED_HEADERS = "x-ms-date;host;x-ms-content-sha256"
MAX_CLOCK_SKEW = timedelta(minutes=15)


class HmacAuthError(Exception):
    """The request is not signed with the resource's access key (ACS answers 401)."""


def content_hash(body: bytes) -> str:
    return base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def rfc1123(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def string_to_sign(method: str, path_and_query: str, header_values: list[str]) -> str:
    return method.upper() + "\n" + path_and_query + "\n" + ";".join(header_values)


def compute_signature(access_key: str, message: str) -> str:
    secret = base64.b64decode(access_key)
    digest = hmac.new(secret, message.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def sign_request(
    access_key: str, method: str, url: str, body: bytes = b"", *, now: datetime | None = None
) -> dict[str, str]:
    """Headers the SDK would add to a request to `url` (used by tests and tools, not by the server)."""
    parts = urlsplit(url)
    path_and_query = parts.path + (f"?{parts.query}" if parts.query else "")
    date = rfc1123(now or datetime.now(UTC))
    body_hash = content_hash(body)
    message = string_to_sign(method, path_and_query, [date, parts.netloc, body_hash])
    signature = compute_signature(access_key, message)
    return {
        "x-ms-date": date,
        "x-ms-content-sha256": body_hash,
        "Authorization": f"{SCHEME} SignedHeaders={SIGNED_HEADERS}&Signature={signature}",
    }


def parse_authorization(value: str) -> tuple[list[str], str]:
    """`HMAC-SHA256 SignedHeaders=a;b;c&Signature=xyz` -> (["a", "b", "c"], "xyz")."""
    scheme, _, params = value.strip().partition(" ")
    if scheme != SCHEME:
        raise HmacAuthError(f"Authorization scheme must be {SCHEME}.")
    fields: dict[str, str] = {}
    for part in params.strip().split("&"):
        name, sep, val = part.partition("=")
        if sep:
            fields[name.strip().lower()] = val.strip()
    if "signedheaders" not in fields or "signature" not in fields:
        raise HmacAuthError("Authorization header must carry SignedHeaders and Signature.")
    return [h.strip().lower() for h in fields["signedheaders"].split(";") if h.strip()], fields["signature"]


def verify_request(
    access_key: str,
    method: str,
    path_and_query: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: datetime | None = None,
    max_skew: timedelta = MAX_CLOCK_SKEW,
) -> None:
    """Raise HmacAuthError unless the request carries a valid, fresh signature over this exact body.

    `headers` must be case-insensitive (Starlette's Headers is); `host` is read from the Host header.
    """
    authorization = headers.get("authorization")
    if not authorization:
        raise HmacAuthError("The request is missing the Authorization header.")
    signed_headers, signature = parse_authorization(authorization)
    for required in ("x-ms-date", "host", "x-ms-content-sha256"):
        if required not in signed_headers:
            raise HmacAuthError(f"SignedHeaders must include {required}.")
    values = []
    for name in signed_headers:
        value = headers.get(name)
        if value is None:
            raise HmacAuthError(f"Signed header {name} is missing from the request.")
        values.append(value)

    if not hmac.compare_digest(headers["x-ms-content-sha256"], content_hash(body)):
        raise HmacAuthError("x-ms-content-sha256 does not match the request body.")

    try:
        signed_at = parsedate_to_datetime(headers["x-ms-date"])
    except (TypeError, ValueError) as exc:
        raise HmacAuthError("x-ms-date is not an RFC 1123 date.") from exc
    if signed_at.tzinfo is None:
        signed_at = signed_at.replace(tzinfo=UTC)
    if abs((now or datetime.now(UTC)) - signed_at) > max_skew:
        raise HmacAuthError("x-ms-date is more than 15 minutes away from the server's clock.")

    try:
        expected = compute_signature(access_key, string_to_sign(method, path_and_query, values))
    except (binascii.Error, ValueError) as exc:
        raise HmacAuthError("The server's access key is not valid base64.") from exc
    if hmac.compare_digest(expected, signature):
        return
    host_index = signed_headers.index("host")
    slash_values = [*values]
    slash_values[host_index] = values[host_index] + "/"
    if hmac.compare_digest(
        compute_signature(access_key, string_to_sign(method, path_and_query, slash_values)), signature
    ):
        raise HmacAuthError(
            "The signature does not match: it was computed for host "
            f"'{values[host_index]}/'. Build the client with the endpoint without a trailing slash."
        )
    raise HmacAuthError("The request signature does not match: wrong access key or altered request.")
