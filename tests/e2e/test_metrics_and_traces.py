"""A real call shows up in `GET /metrics` and, with OTEL_EXPORTER_OTLP_ENDPOINT set, as OTLP spans sent by the
real OpenTelemetry exporter to a collector on loopback: OTLP/HTTP by default, gRPC when
OTEL_EXPORTER_OTLP_PROTOCOL=grpc (what Azure Container Apps' managed agent injects)."""

from __future__ import annotations

from typing import Any

import grpc
import httpx
import pytest
from fastapi import FastAPI, Request, Response
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import (
    TraceServiceServicer,
    add_TraceServiceServicer_to_server,
)
from prometheus_client.parser import text_string_to_metric_families

from apps.acs_simulator.caller_audio import Pause, Say, WaitForAgent
from apps.acs_simulator.server import AcsSimulator
from apps.acs_simulator.serving import ServedApp
from tests.e2e.calls import BANKING
from tests.support import eventually, running_backend

Spans = list[tuple[str, dict[str, Any]]]


def keep_spans(export: ExportTraceServiceRequest, spans: Spans) -> None:
    for resource_spans in export.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                spans.append((span.name, {a.key: a.value for a in span.attributes}))


class OtlpCollector:
    """Accepts OTLP/HTTP protobuf trace exports and keeps the span names and attributes."""

    def __init__(self) -> None:
        self.spans: Spans = []
        app = FastAPI()

        @app.post("/v1/traces")
        async def traces(request: Request) -> Response:
            keep_spans(ExportTraceServiceRequest.FromString(await request.body()), self.spans)
            return Response(
                ExportTraceServiceResponse().SerializeToString(), media_type="application/x-protobuf"
            )

        self.served = ServedApp(app)


class GrpcOtlpCollector(TraceServiceServicer):
    """A gRPC OTLP receiver on loopback (the managed agent's side): serves opentelemetry-proto's TraceService
    on this event loop and keeps the span names and attributes, and the metadata of each export call."""

    def __init__(self) -> None:
        self.spans: Spans = []
        self.calls: list[dict[str, str]] = []
        self.server = grpc.aio.server()
        add_TraceServiceServicer_to_server(self, self.server)
        self.port = self.server.add_insecure_port("127.0.0.1:0")

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def Export(  # the generated servicer's method name
        self, request: ExportTraceServiceRequest, context: grpc.aio.ServicerContext
    ) -> ExportTraceServiceResponse:
        self.calls.append({key: str(value) for key, value in context.invocation_metadata() or ()})
        keep_spans(request, self.spans)
        return ExportTraceServiceResponse()


def metric_values(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_a_call_with_a_barge_in_is_measured_and_traced(simulator: AcsSimulator) -> None:
    collector = OtlpCollector()
    await collector.served.start()
    try:
        async with running_backend(
            simulator, otel_exporter_otlp_endpoint=collector.served.base_url
        ) as backend:
            script = [
                Pause(1.0),  # the greeting is playing ...
                Say("I want to check my balance please."),  # ... and the caller talks over it
                WaitForAgent(),
                Say("What's my checking balance?"),
                WaitForAgent(),
            ]
            result = await simulator.place_call(
                backend.url, script, to_number="+18005550100", max_duration_s=60
            )
            assert result.script_error is None
            assert result.timeline.first("stop_audio_received") is not None

            async def scraped() -> dict[tuple[str, tuple[tuple[str, str], ...]], float] | None:
                async with httpx.AsyncClient() as http:
                    response = await http.get(f"{backend.url}/metrics")
                assert response.status_code == 200
                assert response.headers["content-type"].startswith("text/plain")
                values = metric_values(response.text)
                return values if values[("switchboard_active_calls", ())] == 0 else None

            values = await eventually(scraped, timeout=15)
            assert values[("switchboard_inbound_frames_total", (("result", "ok"),))] > 100
            assert values[("switchboard_inbound_frame_lag_seconds_count", ())] > 100
            assert values[("switchboard_turn_latency_seconds_count", (("part", "response"),))] >= 1
            assert values[("switchboard_turn_latency_seconds_count", (("part", "overhead"),))] >= 1
            assert values[("switchboard_barge_in_seconds_count", ())] >= 1
            assert values[("switchboard_event_loop_lag_seconds_count", ())] > 0
            assert values[("switchboard_calls_total", ())] == 1
            # The caller's words went through the shared VAD batcher; the simulator's silences were skipped.
            run = values[("switchboard_vad_windows_total", (("result", "run"),))]
            batches = values[("switchboard_vad_batches_total", ())]
            assert run > 30 and 0 < batches <= run
            assert values[("switchboard_vad_windows_total", (("result", "skipped"),))] > 0

            await eventually(
                lambda: any(name == "switchboard.turn" for name, _ in collector.spans), timeout=15
            )
            turn = next(attrs for name, attrs in collector.spans if name == "switchboard.turn")
            assert turn["call.id"].string_value  # type: ignore[attr-defined]
            assert turn["latency.response_ms"].double_value > 0  # type: ignore[attr-defined]
            assert {"switchboard.end_of_turn", "switchboard.stt"} <= {name for name, _ in collector.spans}
    finally:
        await collector.served.stop()


async def test_a_call_is_traced_over_grpc_when_the_environment_says_grpc(
    simulator: AcsSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Azure Container Apps' managed agent takes OTLP over gRPC only and injects OTEL_EXPORTER_OTLP_PROTOCOL=grpc
    beside its endpoint (a plain http:// URL): the turn spans reach a real gRPC TraceService with them."""
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", raising=False)
    collector = GrpcOtlpCollector()
    await collector.server.start()
    try:
        async with running_backend(simulator, otel_exporter_otlp_endpoint=collector.endpoint) as backend:
            script = [WaitForAgent(), Say("What's my checking balance?"), WaitForAgent()]
            result = await simulator.place_call(backend.url, script, to_number=BANKING, max_duration_s=60)
            assert result.script_error is None
            await eventually(
                lambda: any(name == "switchboard.turn" for name, _ in collector.spans), timeout=15
            )
        turn = next(attrs for name, attrs in collector.spans if name == "switchboard.turn")
        assert turn["call.id"].string_value
        assert turn["latency.response_ms"].double_value > 0
        assert {"switchboard.end_of_turn", "switchboard.stt"} <= {name for name, _ in collector.spans}
        # It came over gRPC, from the OpenTelemetry exporter (its user agent says which transport).
        assert any("grpc" in call.get("user-agent", "") for call in collector.calls)
    finally:
        await collector.server.stop(grace=None)
