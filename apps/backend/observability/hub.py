"""The process's metrics and (optional) tracer, handed to the call service as one object."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from apps.backend.observability.metrics import ServiceMetrics
from apps.backend.observability.tracing import TurnTracer
from voice.transcript import TranscriptTurn

log = logging.getLogger(__name__)


@dataclass
class Observability:
    metrics: ServiceMetrics = field(default_factory=ServiceMetrics)
    tracer: TurnTracer | None = None

    def record_turn(self, turn: TranscriptTurn) -> None:
        """Metrics and a trace for one transcript turn. Never raises into the call."""
        try:
            self.metrics.record_turn(turn)
            if self.tracer is not None:
                self.tracer.record_turn(turn)
        except Exception:
            log.exception("recording turn telemetry failed")
