import io
import logging

import orjson

from apps.backend.logging_setup import JsonFormatter, _ContextFilter, bound_call_id, redact


def _capture() -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(_ContextFilter())
    logger = logging.getLogger("test.capture")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, stream


def test_every_line_inside_a_call_carries_its_call_id_and_extras() -> None:
    logger, stream = _capture()
    with bound_call_id("call-42"):
        logger.info("media started", extra={"sample_rate": 16000})
    logger.info("outside")
    first, second = (orjson.loads(line) for line in stream.getvalue().splitlines())
    assert first["call_id"] == "call-42" and first["sample_rate"] == 16000 and first["msg"] == "media started"
    assert "call_id" not in second


def test_tokens_in_logged_urls_are_redacted() -> None:
    logger, stream = _capture()
    logger.info('%s - "WebSocket %s" [accepted]', "127.0.0.1:5", "/api/v1/media/stream?token=eyJabc.def&x=1")
    line = orjson.loads(stream.getvalue())
    assert "eyJabc" not in line["msg"] and "token=<redacted>&x=1" in line["msg"]


def test_redact_leaves_ordinary_text_alone() -> None:
    assert redact("answered call 12 with pcm16KMono") == "answered call 12 with pcm16KMono"
