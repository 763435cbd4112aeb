"""Metrics and traces: frame-lag cadence, the hot-path histogram, per-turn metrics and spans."""

from __future__ import annotations

import logging
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client.parser import text_string_to_metric_families

from apps.backend.observability.metrics import ServiceMetrics
from apps.backend.observability.tracing import TurnTracer, otlp_exporter, otlp_protocol, otlp_tracer
from voice.transcript import ToolCallRecord, TranscriptTurn, TurnLatency
from voice.transports.cadence import FrameCadence

ROOT = Path(__file__).resolve().parents[3]
T0 = datetime(2026, 11, 21, 10, 0, 0, tzinfo=UTC)


def stamp(ms: float) -> str:
    return (T0 + timedelta(milliseconds=ms)).isoformat().replace("+00:00", "Z")


def test_frames_on_their_cadence_have_no_lag() -> None:
    cadence = FrameCadence()
    lags = [cadence.lag(100.0 + k * 0.02, stamp(k * 20)) for k in range(50)]
    assert max(lags) < 1e-6


def test_a_frame_handled_late_shows_its_lag_and_the_next_on_time_frame_none() -> None:
    cadence = FrameCadence()
    for k in range(10):
        cadence.lag(100.0 + k * 0.02, stamp(k * 20))
    assert abs(cadence.lag(100.0 + 10 * 0.02 + 0.035, stamp(200)) - 0.035) < 1e-6
    assert cadence.lag(100.0 + 11 * 0.02, stamp(220)) < 1e-6


def test_frames_the_sender_never_sent_are_not_lag() -> None:
    cadence = FrameCadence()
    cadence.lag(100.0, stamp(0))
    assert cadence.lag(100.5, stamp(500)) < 1e-6  # 24 frames missing, the 25th on time


def test_a_late_first_frame_does_not_make_every_later_frame_look_early() -> None:
    cadence = FrameCadence()
    cadence.lag(100.05, stamp(0))  # the first frame came 50 ms late
    assert cadence.lag(100.02, stamp(20)) == 0.0  # re-anchored on the punctual one
    assert abs(cadence.lag(100.06, stamp(40)) - 0.02) < 1e-6


def test_without_stamps_the_frame_count_stands_in() -> None:
    cadence = FrameCadence()
    cadence.lag(100.0)
    assert abs(cadence.lag(100.05) - 0.03) < 1e-6


def samples(metrics: ServiceMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(metrics.render().decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def reply(latency: TurnLatency, **extra: object) -> TranscriptTurn:
    return TranscriptTurn(
        call_id="c1",
        seq=3,
        speaker="agent",
        kind="reply",
        agent="concierge",
        text="Your balance is ten dollars.",
        started_at=T0,
        ended_at=T0 + timedelta(seconds=2),
        latency=latency,
        **extra,  # type: ignore[arg-type]
    )


LATENCY = TurnLatency(
    end_of_turn_ms=600,
    stt_final_ms=150,
    llm_first_token_ms=300,
    llm_ms=320,
    tts_first_audio_ms=100,
    response_ms=1180,
)


def test_a_turn_lands_in_the_latency_histograms_with_our_overhead() -> None:
    metrics = ServiceMetrics()
    tool = ToolCallRecord(id="t1", name="get_balance", arguments={}, ok=True, duration_ms=12.0)
    metrics.record_turn(reply(LATENCY, tool_calls=(tool,)))
    found = samples(metrics)
    assert found[("switchboard_turn_latency_seconds_count", (("part", "response"),))] == 1
    assert abs(found[("switchboard_turn_latency_seconds_sum", (("part", "response"),))] - 1.18) < 1e-9
    # overhead = 1180 - (600 + 150 + 320 + 100): the brain's time counts to the first clause, not token
    assert abs(found[("switchboard_turn_latency_seconds_sum", (("part", "overhead"),))] - 0.010) < 1e-9
    assert found[("switchboard_tool_duration_seconds_count", (("ok", "true"), ("tool", "get_balance")))] == 1
    assert found[("switchboard_turns_total", (("kind", "reply"), ("speaker", "agent")))] == 1


def test_frame_path_metrics() -> None:
    metrics = ServiceMetrics()
    for lag in (0.001, 0.004, 0.025):
        metrics.frame_handled(lag)
    metrics.frame_malformed()
    metrics.barge_in(0.12)
    metrics.call_started()
    found = samples(metrics)
    assert found[("switchboard_inbound_frames_total", (("result", "ok"),))] == 3
    assert found[("switchboard_inbound_frames_total", (("result", "malformed"),))] == 1
    assert found[("switchboard_inbound_frame_lag_seconds_bucket", (("le", "0.02"),))] == 2
    assert found[("switchboard_inbound_frame_lag_seconds_bucket", (("le", "+Inf"),))] == 3
    assert found[("switchboard_barge_in_seconds_bucket", (("le", "0.125"),))] == 1
    assert found[("switchboard_active_calls", ())] == 1
    metrics.call_ended()
    assert samples(metrics)[("switchboard_active_calls", ())] == 0


def test_each_reply_becomes_a_turn_span_with_one_child_per_part() -> None:
    exporter = InMemorySpanExporter()
    tracer = TurnTracer.with_exporter(exporter, "switchboard-test")
    tracer.record_turn(reply(LATENCY))
    tracer._provider.force_flush()
    spans = {span.name: span for span in exporter.get_finished_spans()}
    root = spans["switchboard.turn"]
    assert root.attributes["call.id"] == "c1" and root.attributes["latency.response_ms"] == 1180
    assert (root.end_time - root.start_time) / 1e6 == 1180
    children = [
        "switchboard.end_of_turn",
        "switchboard.stt",
        "switchboard.llm",
        "switchboard.tts_first_audio",
    ]
    assert set(spans) == {"switchboard.turn", *children}
    for name in children:
        assert spans[name].parent.span_id == root.context.span_id
    assert (spans["switchboard.llm"].end_time - spans["switchboard.llm"].start_time) / 1e6 == 320
    # Parts are laid end to end from the caller's last voiced audio.
    assert spans["switchboard.end_of_turn"].start_time == root.start_time
    assert spans["switchboard.stt"].start_time == spans["switchboard.end_of_turn"].end_time


def test_caller_turns_and_turns_without_a_response_make_no_span() -> None:
    exporter = InMemorySpanExporter()
    tracer = TurnTracer.with_exporter(exporter, "switchboard-test")
    tracer.record_turn(reply(TurnLatency(end_of_turn_ms=600)))
    tracer._provider.force_flush()
    assert exporter.get_finished_spans() == ()


def test_a_jump_in_the_senders_stamps_counts_the_frames_that_never_arrived() -> None:
    cadence = FrameCadence()
    for k in (0, 1, 2, 6, 7):  # frames 3, 4 and 5 were lost
        cadence.lag(100.0 + k * 0.02, stamp(k * 20))
    assert cadence.missing == 3


def test_a_chunk_of_frames_lags_by_its_last_frame_and_chunks_leave_no_frame_missing() -> None:
    cadence = FrameCadence()
    # Pairs handled as the second frame of each arrives: on time, however long the first waited for it.
    lags = [cadence.lag(100.0 + (k + 1) * 0.02, stamp(k * 20), frames=2) for k in range(0, 20, 2)]
    assert max(lags) < 1e-6 and cadence.missing == 0
    assert abs(cadence.lag(100.0 + 21 * 0.02 + 0.05, stamp(400), frames=2) - 0.05) < 1e-6  # 50 ms behind
    cadence.lag(100.0 + 27 * 0.02, stamp(520), frames=2)  # frames 22..25 never came
    assert cadence.missing == 4


def test_the_otlp_protocol_comes_from_the_standard_variables() -> None:
    """Azure Container Apps' managed agent injects OTEL_EXPORTER_OTLP_PROTOCOL=grpc with its endpoint."""
    assert otlp_protocol({}) == "http/protobuf"
    assert otlp_protocol({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}) == "grpc"
    assert otlp_protocol({"OTEL_EXPORTER_OTLP_PROTOCOL": " GRPC "}) == "grpc"
    assert otlp_protocol({"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}) == "http/json"
    # The traces-only variable wins over the general one (the SDK's precedence).
    both = {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"}
    assert otlp_protocol(both) == "http/protobuf"


def test_each_protocol_gets_its_own_exporter_and_an_unknown_one_none() -> None:
    grpc = otlp_exporter("http://127.0.0.1:4317", "grpc")
    http = otlp_exporter("http://127.0.0.1:4318", "http/protobuf")
    try:
        assert type(grpc).__module__ == "opentelemetry.exporter.otlp.proto.grpc.trace_exporter"
        assert type(http).__module__ == "opentelemetry.exporter.otlp.proto.http.trace_exporter"
    finally:
        grpc.shutdown()
        http.shutdown()
    with pytest.raises(ValueError, match="http/json"):
        otlp_exporter("http://127.0.0.1:4318", "http/json")


async def test_an_otlp_protocol_not_exported_here_leaves_tracing_off_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    endpoint = "http://127.0.0.1:4317"
    with caplog.at_level(logging.INFO, logger="apps.backend.observability.tracing"):
        assert otlp_tracer(endpoint, "switchboard", {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}) is None
        tracer = otlp_tracer(endpoint, "switchboard", {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"})
    assert tracer is not None
    await tracer.aclose()
    off, on = caplog.records
    assert off.levelno == logging.WARNING and off.getMessage().startswith(
        "tracing off: OTLP protocol 'http/json'"
    )
    assert on.levelno == logging.INFO and on.__dict__["protocol"] == "grpc"


def test_the_service_imports_no_otlp_exporter_until_tracing_is_configured() -> None:
    """Cold start: gRPC's C core (and either exporter) loads only when an endpoint asks for it."""
    probe = (
        "import sys, apps.backend.app, apps.backend.runtime; "
        "print(sorted(m for m in sys.modules if m == 'grpc' or m.startswith('opentelemetry.exporter')))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    ).stdout
    assert loaded.strip() == "[]"
