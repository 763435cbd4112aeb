"""A real call shows up in `GET /metrics` and, with OTEL_EXPORTER_OTLP_ENDPOINT set, as OTLP/HTTP spans posted
by the real OpenTelemetry exporter to a collector on loopback."""

from __future__ import annotations

import httpx
from fastapi import FastAPI, Request, Response
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from prometheus_client.parser import text_string_to_metric_families

from apps.acs_simulator.caller_audio import Pause, Say, WaitForAgent
from apps.acs_simulator.server import AcsSimulator
from apps.acs_simulator.serving import ServedApp
from tests.support import eventually, running_backend


class OtlpCollector:
    """Accepts OTLP/HTTP protobuf trace exports and keeps the span names and attributes."""

    def __init__(self) -> None:
        self.spans: list[tuple[str, dict[str, object]]] = []
        app = FastAPI()

        @app.post("/v1/traces")
        async def traces(request: Request) -> Response:
            export = ExportTraceServiceRequest.FromString(await request.body())
            for resource_spans in export.resource_spans:
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        attributes = {a.key: a.value for a in span.attributes}
                        self.spans.append((span.name, attributes))
            return Response(
                ExportTraceServiceRequest().SerializeToString(), media_type="application/x-protobuf"
            )

        self.served = ServedApp(app)


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

            await eventually(
                lambda: any(name == "switchboard.turn" for name, _ in collector.spans), timeout=15
            )
            turn = next(attrs for name, attrs in collector.spans if name == "switchboard.turn")
            assert turn["call.id"].string_value  # type: ignore[attr-defined]
            assert turn["latency.response_ms"].double_value > 0  # type: ignore[attr-defined]
            assert {"switchboard.end_of_turn", "switchboard.stt"} <= {name for name, _ in collector.spans}
    finally:
        await collector.served.stop()
