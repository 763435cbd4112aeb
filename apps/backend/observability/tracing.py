"""OpenTelemetry spans for every agent reply, exported over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set.

Each reply becomes a `switchboard.turn` span from the caller's last voiced audio to the first agent audio,
with one child span per part (end of turn, STT, brain, tools, TTS) laid end to end, and every part also as
an attribute. The parts are measured where they happen; the layout is reconstructed when the turn is
recorded, so a child's exact start is approximate while its duration is exact. Export runs in the SDK's
batch thread: nothing here blocks the event loop.

The transport follows OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL: http/protobuf (the default) or grpc, which is what
Azure Container Apps' managed OpenTelemetry agent takes and injects beside its endpoint. Each exporter is
imported only when chosen (gRPC's C core costs tens of milliseconds at start-up).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace import Tracer, set_span_in_context

from voice.transcript import TranscriptTurn

log = logging.getLogger(__name__)

TRACER_NAME = "switchboard"
OTLP_HTTP = "http/protobuf"
OTLP_GRPC = "grpc"
OTLP_PROTOCOLS = (OTLP_HTTP, OTLP_GRPC)
"""The OTLP transports exported here (opentelemetry-exporter-otlp-proto-http and -grpc); http/json is not."""


def otlp_protocol(environ: Mapping[str, str]) -> str:
    """The OTLP transport the environment asks for, lower-cased; http/protobuf when it names none.

    OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL is OpenTelemetry's standard variable for it, and it travels with the
    endpoint: Azure Container Apps' managed agent injects `grpc` beside its OTEL_EXPORTER_OTLP_ENDPOINT. The
    traces-only variable wins over the general one, as in the SDK. The value may be one not exported here
    (see OTLP_PROTOCOLS): the caller then leaves tracing off rather than fail on every batch.
    """
    for name in ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"):
        value = environ.get(name, "").strip().lower()
        if value:
            return value
    return OTLP_HTTP


def otlp_exporter(endpoint: str, protocol: str) -> SpanExporter:
    """The SDK's OTLP span exporter for `protocol` (one of OTLP_PROTOCOLS), imported only now.

    OTLP/HTTP posts to <endpoint>/v1/traces; gRPC takes the endpoint as given (http:// means plaintext,
    https:// TLS, as the SDK reads it) and calls the TraceService on it.
    """
    if protocol == OTLP_GRPC:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter

        return GrpcExporter(endpoint=endpoint)
    if protocol == OTLP_HTTP:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

        return HttpExporter(endpoint=endpoint.rstrip("/") + "/v1/traces")
    raise ValueError(f"OTLP protocol {protocol!r} is not exported here (one of {', '.join(OTLP_PROTOCOLS)})")


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _ns(moment: datetime) -> int:
    """Nanoseconds since the epoch, exactly (float seconds would blur the parts by a few hundred ns)."""
    return (moment - _EPOCH) // timedelta(microseconds=1) * 1000


class TurnTracer:
    def __init__(self, provider: TracerProvider) -> None:
        self._provider = provider
        self._tracer: Tracer = provider.get_tracer(TRACER_NAME)

    @classmethod
    def otlp(cls, endpoint: str, service_name: str, protocol: str = OTLP_HTTP) -> TurnTracer:
        return cls.with_exporter(otlp_exporter(endpoint, protocol), service_name)

    @classmethod
    def with_exporter(cls, exporter: SpanExporter, service_name: str) -> TurnTracer:
        provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
        provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=1000))
        return cls(provider)

    def record_turn(self, turn: TranscriptTurn) -> None:
        latency = turn.latency
        if turn.speaker != "agent" or latency is None or latency.response_ms is None:
            return
        parts = [
            ("end_of_turn", latency.end_of_turn_ms),
            ("stt", latency.stt_final_ms),
            ("llm", latency.llm_ms if latency.llm_ms is not None else latency.llm_first_token_ms),
            ("tools", latency.tools_ms),
            ("tts_first_audio", latency.tts_first_audio_ms),
        ]
        # The reply state starts once recognition is final: the caller stopped talking eot + stt before.
        start = turn.started_at - timedelta(
            milliseconds=(latency.end_of_turn_ms or 0) + (latency.stt_final_ms or 0)
        )
        attributes: dict[str, str | float | bool | int] = {
            "call.id": turn.call_id,
            "turn.seq": turn.seq,
            "turn.kind": turn.kind,
            "agent.name": turn.agent or "",
            "turn.interrupted": turn.interrupted,
        }
        for name, value in latency.model_dump().items():
            if value is not None:
                attributes[f"latency.{name}"] = float(value)
        root = self._tracer.start_span("switchboard.turn", start_time=_ns(start), attributes=attributes)
        context = set_span_in_context(root)
        cursor = start
        for name, ms in parts:
            if ms is None:
                continue
            end = cursor + timedelta(milliseconds=ms)
            span = self._tracer.start_span(f"switchboard.{name}", context=context, start_time=_ns(cursor))
            if name == "tools":
                span.set_attribute("tools", [call.name for call in turn.tool_calls])
            span.end(end_time=_ns(end))
            cursor = end
        root.end(end_time=_ns(start + timedelta(milliseconds=latency.response_ms)))

    async def aclose(self) -> None:
        """Flush what is queued and stop the export thread (blocking SDK calls, so off the loop)."""
        await asyncio.to_thread(self._provider.shutdown)


def otlp_tracer(endpoint: str, service_name: str, environ: Mapping[str, str]) -> TurnTracer | None:
    """The turn tracer exporting to `endpoint` in the protocol `environ` names; None, with a warning, for a
    protocol not exported here. Imports the exporter: call it off the event loop."""
    protocol = otlp_protocol(environ)
    if protocol not in OTLP_PROTOCOLS:
        log.warning(
            "tracing off: OTLP protocol %r (OTEL_EXPORTER_OTLP_TRACES_PROTOCOL or OTEL_EXPORTER_OTLP_PROTOCOL) "
            "is not one this service exports (%s); set one of those, or unset it for http/protobuf",
            protocol,
            ", ".join(OTLP_PROTOCOLS),
            extra={"endpoint": endpoint},
        )
        return None
    tracer = TurnTracer.otlp(endpoint, service_name, protocol)
    log.info("tracing: OTLP export on", extra={"endpoint": endpoint, "protocol": protocol})
    return tracer
