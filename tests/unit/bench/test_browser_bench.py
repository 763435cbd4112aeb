"""The browser bench's targets: WebRTC's barge-in is judged on the worker's own histogram, the ear reported."""

from __future__ import annotations

import math

from bench import browser
from bench.loadgen import Histogram

EDGES = (0.05, 0.075, 0.1, 0.125, 0.15, 0.175, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1.0, math.inf)


def histogram(*seconds: float) -> Histogram:
    buckets = {le: float(sum(1 for s in seconds if s <= le)) for le in EDGES}
    return Histogram(buckets, float(len(seconds)), sum(seconds))


def runs(webrtc_cuts: list[float]) -> dict[str, dict[str, object]]:
    phone = {"response_ms": [610.0, 620.0], "barge_in_ms": [105.0, 110.0], "missed": 0}
    return {
        "phone": phone,
        "webrtc": {"response_ms": [700.0, 720.0], "barge_in_ms": webrtc_cuts, "missed": 0},
    }


def webrtc_target(result: dict[str, object]) -> dict[str, object]:
    targets = result["targets"]
    assert isinstance(targets, list)
    return next(t for t in targets if t["name"].startswith("webrtc barge-in"))


def test_webrtc_barge_in_is_judged_at_the_server_not_at_the_ear() -> None:
    at_server = histogram(*[0.11] * 19, 0.14)
    result = browser.build_result(runs([300.0] * 20), quick=True, webrtc_at_server=at_server)

    judged = webrtc_target(result)
    assert judged["met"] is True
    assert judged["value"] == 125.0  # the 95th of 20 barge-ins is the last in the 100-125 ms bucket
    rows = result["table"]["rows"]  # type: ignore[index]
    assert ["webrtc", "barge-in at the ear, ms"] == rows[-1][:2]
    assert rows[-1][3] == 300.0  # the ear's p50 is still reported


def test_a_slow_server_misses_the_webrtc_target() -> None:
    at_server = histogram(*[0.11] * 17, 0.2, 0.2, 0.2)
    judged = webrtc_target(browser.build_result(runs([300.0] * 20), quick=True, webrtc_at_server=at_server))
    assert judged["met"] is False
    assert judged["value"] > 150


def test_no_server_figure_or_fewer_barge_ins_than_the_client_timed_is_never_met() -> None:
    assert webrtc_target(browser.build_result(runs([300.0] * 3), quick=True))["met"] is False
    short = histogram(0.1, 0.1)  # the server counted 2 of the client's 3
    judged = webrtc_target(browser.build_result(runs([300.0] * 3), quick=True, webrtc_at_server=short))
    assert judged["met"] is False
    assert judged["value"] is None
