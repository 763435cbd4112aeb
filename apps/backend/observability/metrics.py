"""The service's Prometheus metrics, one `ServiceMetrics` per process (each app gets its own registry, so
tests and benchmarks never share counters).

Per turn (from the transcript's `TurnLatency`): end-of-turn delay, STT final, LLM first token, tools, TTS first
audio, response latency and our own overhead, as `switchboard_turn_latency_seconds{part=...}`. Per call:
barge-in latency, tool durations, active calls. Per frame (hot path, `LoopHistogram`): inbound frame lag,
frames in / malformed / missing, playout underruns; per process: event loop lag.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

from apps.backend.observability.histogram import LoopCounters, LoopHistogram
from apps.backend.observability.usage_metrics import UsageMetrics
from voice.transcript import TranscriptTurn

# Turn parts range from a few ms (our overhead) to seconds (a slow LLM): buckets dense below 1 s.
TURN_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0, 1.5, 2, 3, 5, 10)
BARGE_IN_BUCKETS = (0.05, 0.075, 0.1, 0.125, 0.15, 0.175, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1.0)
FRAME_LAG_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1.0)
TURN_PARTS = (
    "end_of_turn",
    "stt_final",
    "llm_first_token",
    "tools",
    "tts_first_audio",
    "response",
    "overhead",
)


class ServiceMetrics:
    """Implements `voice.telemetry.CallTelemetry` for every call of the process, plus turn and call metrics."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        # `_created` series are noise for us (process-wide switch, idempotent).
        disable_created_metrics()  # type: ignore[no-untyped-call]  # prometheus_client leaves it unannotated
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.active_calls = Gauge(
            "switchboard_active_calls", "Calls whose media stream this process is handling.", registry=r
        )
        self.calls_total = Counter("switchboard_calls", "Media sessions started.", registry=r)
        self.usage = UsageMetrics(r)
        self.turn_latency = Histogram(
            "switchboard_turn_latency_seconds",
            "Where one agent reply's time went; part=response is caller's last voiced frame -> first agent "
            "audio out, part=overhead is response minus every measured part (our own time).",
            ["part"],
            buckets=TURN_BUCKETS,
            registry=r,
        )
        self.barge_in_latency = Histogram(
            "switchboard_barge_in_seconds",
            "Caller speech onset during agent audio -> StopAudio sent.",
            buckets=BARGE_IN_BUCKETS,
            registry=r,
        )
        self.tool_duration = Histogram(
            "switchboard_tool_duration_seconds",
            "Tool call durations.",
            ["tool", "ok"],
            buckets=TURN_BUCKETS,
            registry=r,
        )
        self.turns = Counter("switchboard_turns", "Transcript turns.", ["speaker", "kind"], registry=r)
        self.continued_turns = Counter(
            "switchboard_turns_continued",
            "Caller turns that went on after their end before the reply was heard: the reply was dropped "
            "unheard and the utterances answered as one turn.",
            registry=r,
        )
        self.interrupted_turns = Counter(
            "switchboard_agent_turns_interrupted", "Agent turns cut short by the caller.", registry=r
        )
        self.frames_in = LoopCounters(
            "switchboard_inbound_frames",
            "Inbound media messages by result.",
            "result",
            ("ok", "malformed"),
        )
        self._frame_counts = self.frames_in.counts
        self.frames_missing_total = Counter(
            "switchboard_inbound_frames_missing",
            "Frames ACS' timestamps say were sent that never arrived (dropped on the way).",
            registry=r,
        )
        self.playout_underruns = Counter(
            "switchboard_playout_underruns",
            "Agent audio frames sent after they were due to play (the caller heard a gap).",
            registry=r,
        )
        self.redis_writes_dropped = Counter(
            "switchboard_redis_writes_dropped",
            "Writes to Redis given up so that no call waits on Redis (it was hung or away): call-record "
            "updates (what=call_record) and live dashboard events (what=live_event).",
            ["what"],
            registry=r,
        )
        self.call_record_update_dropped = self.redis_writes_dropped.labels(what="call_record").inc
        self.live_event_dropped = self.redis_writes_dropped.labels(what="live_event").inc
        self.frame_lag = LoopHistogram(
            "switchboard_inbound_frame_lag_seconds",
            "How late each inbound audio frame was handled, against its call's steady 20 ms cadence.",
            FRAME_LAG_BUCKETS,
        )
        self.loop_lag = LoopHistogram(
            "switchboard_event_loop_lag_seconds",
            "How late a 20 ms timer on the event loop fired (everything on the loop waits this long).",
            FRAME_LAG_BUCKETS,
        )
        r.register(self.frames_in)
        r.register(self.frame_lag)
        r.register(self.loop_lag)

    # --- voice.telemetry.CallTelemetry (hot path: plain integer arithmetic, no locks, no label lookups) ---
    def frame_handled(self, lag_s: float) -> None:
        self.frame_lag.observe(lag_s)
        self._frame_counts["ok"] += 1

    def frame_malformed(self) -> None:
        self._frame_counts["malformed"] += 1

    def frames_missing(self, count: int) -> None:
        self.frames_missing_total.inc(count)

    def playout_underrun(self) -> None:
        self.playout_underruns.inc()

    def barge_in(self, latency_s: float) -> None:
        self.barge_in_latency.observe(latency_s)

    def turn_continued(self) -> None:
        self.continued_turns.inc()

    # --- per call and per turn ---------------------------------------------------------------------
    def call_started(self) -> None:
        self.calls_total.inc()
        self.active_calls.inc()

    def call_ended(self) -> None:
        self.active_calls.dec()

    def record_turn(self, turn: TranscriptTurn) -> None:
        self.turns.labels(speaker=turn.speaker, kind=turn.kind).inc()
        if turn.interrupted:
            self.interrupted_turns.inc()
        for call in turn.tool_calls:
            self.tool_duration.labels(tool=call.name, ok=str(call.ok).lower()).observe(
                call.duration_ms / 1000
            )
        latency = turn.latency
        if latency is None:
            return
        parts = {
            "end_of_turn": latency.end_of_turn_ms,
            "stt_final": latency.stt_final_ms,
            "llm_first_token": latency.llm_first_token_ms,
            "tools": latency.tools_ms,
            "tts_first_audio": latency.tts_first_audio_ms,
            "response": latency.response_ms,
            "overhead": latency.overhead_ms,
        }
        for part, ms in parts.items():
            if ms is not None:
                self.turn_latency.labels(part=part).observe(ms / 1000)

    def render(self) -> bytes:
        return generate_latest(self.registry)
