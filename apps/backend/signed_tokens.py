"""The one token format behind our stateless tokens (the ACS media token, browser session tokens):
base64url(json payload) "." base64url(HMAC-SHA256(key, payload)). Any replica holding the key checks it."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from typing import Literal

import orjson


class TokenFormatError(Exception):
    """The token is not one we signed: `problem` says whether it is malformed or its signature is wrong."""

    def __init__(self, problem: Literal["malformed", "signature mismatch"]) -> None:
        super().__init__(problem)
        self.problem = problem


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, payload, hashlib.sha256).digest()


def sign_token(key: bytes, claims: Mapping[str, object]) -> str:
    payload = orjson.dumps(dict(claims))
    return f"{_b64(payload)}.{_b64(_sign(key, payload))}"


def signed_payload(key: bytes, token: str, *, max_length: int | None = None) -> bytes:
    """The payload of a token signed with `key` (not yet validated against any model)."""
    encoded_payload, sep, encoded_sig = token.partition(".")
    if not sep or (max_length is not None and len(token) > max_length):
        raise TokenFormatError("malformed")
    try:
        payload = _unb64(encoded_payload)
        signature = _unb64(encoded_sig)
    except (ValueError, binascii.Error) as exc:
        raise TokenFormatError("malformed") from exc
    if not hmac.compare_digest(signature, _sign(key, payload)):
        raise TokenFormatError("signature mismatch")
    return payload
