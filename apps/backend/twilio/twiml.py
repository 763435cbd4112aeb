"""The TwiML we answer Twilio's incoming-call webhook with: connect the call to our media WebSocket.

Twilio does not pass a query string on a `<Stream url>`, so the per-call token travels as a `<Parameter>`
and comes back in the stream's `start` message (`customParameters`).
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, SubElement, tostring


def connect_stream(stream_url: str, parameters: dict[str, str]) -> str:
    response = Element("Response")
    connect = SubElement(response, "Connect")
    stream = SubElement(connect, "Stream", {"url": stream_url})
    for name, value in parameters.items():
        SubElement(stream, "Parameter", {"name": name, "value": value})
    return '<?xml version="1.0" encoding="UTF-8"?>' + tostring(response, encoding="unicode")


def dial(number: str) -> str:
    """Hand the call to `number` (E.164): what a cold transfer redirects a live Twilio call to."""
    response = Element("Response")
    SubElement(response, "Dial").text = number
    return tostring(response, encoding="unicode")
