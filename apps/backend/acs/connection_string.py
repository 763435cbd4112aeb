"""ACS connection strings (`endpoint=https://...;accesskey=...`).

Parsed here rather than with `CallAutomationClient.from_connection_string`, which forces https and so
cannot reach a local http endpoint such as the simulator.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import urlsplit

from pydantic import BaseModel


class AcsConnectionString(BaseModel, frozen=True):
    endpoint: str
    access_key: str

    @classmethod
    def parse(cls, raw: str) -> AcsConnectionString:
        parts: dict[str, str] = {}
        for segment in raw.strip().strip(";").split(";"):
            if not segment.strip():
                continue
            key, sep, value = segment.partition("=")
            if not sep:
                raise ValueError(f"ACS connection string segment {key!r} has no '='")
            parts[key.strip().lower()] = value.strip()
        endpoint = parts.get("endpoint")
        access_key = parts.get("accesskey")
        if not endpoint or not access_key:
            raise ValueError("ACS connection string needs both endpoint=... and accesskey=...")
        if urlsplit(endpoint).scheme not in ("http", "https"):
            raise ValueError("ACS endpoint must be an http:// or https:// URL")
        try:
            base64.b64decode(access_key, validate=True)
        except binascii.Error as exc:
            raise ValueError("ACS access key must be base64") from exc
        # No trailing slash: the SDK signs the endpoint's host exactly as given, and "host:port/" would not
        # match the Host header, so every request would fail HMAC verification.
        return cls(endpoint=endpoint.rstrip("/"), access_key=access_key)
