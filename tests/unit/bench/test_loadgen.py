"""The load generator's pure parts: precomputed frames, the caller's script, the ear, the frame scanner, and the
Prometheus helpers the capacity and refresh benchmarks judge with. No timing assertions."""

from __future__ import annotations

import base64
import math
import random
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from apps.acs_simulator.media_messages import audio_data_json
from apps.backend.observability.histogram import VadBatchCounters
from bench.capacity import Probe, evaluate_step, step_problems
from bench.loadgen import (
    FRAME_S,
    STAMP_LEN,
    CallerAudio,
    CallerEar,
    CallerScript,
    LeanMediaProtocol,
    LoadProfile,
    MetricsSnapshot,
    WindowStats,
    audio_frame_template,
    counter_delta,
    histogram_delta,
    lag_summary,
    parse_metrics,
    percentile,
    scrape,
    stamp_bytes,
    ws_client_frame,
    ws_client_header,
)
from bench.refresh import write_agent, write_registry
from registries.loader import load_registry
from voice.transports.acs import decode_inbound, encode_audio, encode_stop_audio
from voice.transports.base import AudioFrame

RAW_ID = "4:+14255550123"


def unmask_client_frame(frame: bytes) -> tuple[int, bytes]:
    """(opcode, payload) of one masked client frame, decoded the way a server does."""
    assert frame[0] & 0x80, "FIN"
    assert frame[1] & 0x80, "client frames must be masked"
    length, pos = frame[1] & 0x7F, 2
    if length == 126:
        length, pos = int.from_bytes(frame[2:4], "big"), 4
    elif length == 127:
        length, pos = int.from_bytes(frame[2:10], "big"), 10
    mask, pos = frame[pos : pos + 4], pos + 4
    payload = bytes(b ^ mask[i % 4] for i, b in enumerate(frame[pos : pos + length]))
    assert pos + length == len(frame)
    return frame[0] & 0x0F, payload


def server_frame(payload: bytes, opcode: int = 0x1) -> bytes:
    length = len(payload)
    if length < 126:
        return bytes([0x80 | opcode, length]) + payload
    if length < 1 << 16:
        return bytes([0x80 | opcode, 126]) + length.to_bytes(2, "big") + payload
    return bytes([0x80 | opcode, 127]) + length.to_bytes(8, "big") + payload


# ------------------------------------------------------------------ frames ----------------------------------


@pytest.mark.parametrize("length", [0, 5, 125, 126, 1000, 65535, 65536, 70000])
def test_client_header_round_trips_through_a_server_decoder(length: int) -> None:
    payload = bytes(range(256)) * (length // 256) + bytes(length % 256)
    opcode, decoded = unmask_client_frame(ws_client_frame(payload, 0x2))
    assert opcode == 0x2
    assert decoded == payload


def test_header_uses_the_zero_mask_key() -> None:
    assert ws_client_header(10).endswith(b"\x00\x00\x00\x00")


@pytest.mark.parametrize("silent", [False, True])
def test_frame_template_is_byte_identical_to_the_simulators_message(silent: bool) -> None:
    pcm = bytes(range(256)) * 2 + bytes(128)
    stamp = stamp_bytes(1_714_557_600.25)
    frame = audio_frame_template(RAW_ID, pcm, silent).render(stamp)
    opcode, payload = unmask_client_frame(frame)
    assert opcode == 0x1
    assert payload.decode() == audio_data_json(stamp.decode(), RAW_ID, pcm, silent)


def test_backend_decodes_a_rendered_frame() -> None:
    pcm = bytes(range(200)) * 3 + bytes(40)
    _, payload = unmask_client_frame(audio_frame_template(RAW_ID, pcm, False).render(stamp_bytes(0.5)))
    event = decode_inbound(payload, frame_bytes=640)
    assert isinstance(event, AudioFrame)
    assert event.pcm == pcm and not event.silent and event.participant == RAW_ID
    assert event.timestamp == "1970-01-01T00:00:00.500Z"


@pytest.mark.parametrize("unix_s", [0.0, 0.999, 1_714_557_600.0, 1_714_557_600.0429])
def test_stamps_have_a_fixed_width_and_parse(unix_s: float) -> None:
    stamp = stamp_bytes(unix_s)
    assert len(stamp) == STAMP_LEN
    parsed = datetime.fromisoformat(stamp.decode()).timestamp()
    assert unix_s - 0.001 < parsed <= unix_s + 1e-9


def test_caller_audio_splits_and_pads_the_phrase() -> None:
    audio = CallerAudio.from_pcm(bytes(640 * 3 + 100), 16000, RAW_ID)
    assert len(audio.voiced) == 4
    assert audio.phrase_s == pytest.approx(4 * FRAME_S)
    _, last = unmask_client_frame(audio.voiced[-1].render(stamp_bytes(0)))
    assert last.endswith(b'"silent":false}}')
    _, silent = unmask_client_frame(audio.silent.render(stamp_bytes(0)))
    assert base64.b64encode(bytes(640)) in silent and silent.endswith(b'"silent":true}}')


# ------------------------------------------------------------------ the caller's script -------------------


def test_script_alternates_phrase_and_silence() -> None:
    audio = CallerAudio.from_pcm(bytes(640 * 5), 16000, RAW_ID)
    profile = LoadProfile(silence_s=(0.1, 0.2), first_silence_s=(0.06, 0.06))
    script = CallerScript(audio, profile, random.Random(1))
    sent = [script.advance() for _ in range(60)]
    kinds = "".join("v" if t in audio.voiced else "s" for t, _ in sent)
    assert kinds.startswith("sss" + "vvvvv")
    runs = [run for run in kinds.replace("vs", "v s").replace("sv", "s v").split() if run]
    assert all(len(r) == 5 for r in runs if r[0] == "v")
    assert all(5 <= len(r) <= 10 for r in runs[2:-1] if r[0] == "s")
    ends = [i for i, (_, ended) in enumerate(sent) if ended]
    assert ends and all(kinds[i] == "v" and kinds[i + 1] == "s" for i in ends if i + 1 < len(kinds))
    assert [i for i in range(len(kinds) - 1) if kinds[i] == "v" and kinds[i + 1] == "s"] == [
        i for i in ends if i + 1 < len(kinds)
    ]


# ------------------------------------------------------------------ the ear ------------------------------


def test_ear_times_the_reply_and_hears_gaps_inside_it() -> None:
    stats = WindowStats()
    ear = CallerEar(stats)
    ear.on_speech_end(10.0)
    ear.on_agent_audio(11.2)  # reply starts 1.2 s after the caller stopped
    for k in range(1, 5):
        ear.on_agent_audio(11.2 + k * FRAME_S)  # on time: no gap
    ear.on_agent_audio(11.2 + 5 * FRAME_S + 0.05)  # 50 ms late: the caller heard a gap
    assert stats.replies == 1
    assert stats.response_s == [pytest.approx(1.2)]
    assert stats.gaps_s == [pytest.approx(0.05)]
    assert stats.agent_frames == 6


def test_ear_ignores_silence_between_replies_and_after_stop_audio() -> None:
    stats = WindowStats()
    ear = CallerEar(stats)
    ear.on_agent_audio(1.0)  # greeting
    ear.on_stop_audio(1.01)  # barged in
    ear.on_agent_audio(1.5)  # (not awaiting a reply, not in a reply): no gap, no reply
    ear.on_agent_audio(5.0)  # long after: a new burst, not a gap
    assert stats.gaps_s == [] and stats.replies == 0 and stats.stop_audio == 1


def test_ear_buffer_absorbs_frames_sent_ahead() -> None:
    stats = WindowStats()
    ear = CallerEar(stats)
    ear.on_speech_end(0.0)
    for _ in range(3):
        ear.on_agent_audio(1.0)  # a burst of three frames at once (the playout's lead)
    ear.on_agent_audio(1.0 + 3 * FRAME_S)
    assert stats.gaps_s == []


# ------------------------------------------------------------------ the frame scanner ----------------------


class FakeTransport:
    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True


async def test_scanner_counts_audio_spots_stop_audio_and_answers_pings() -> None:
    stats = WindowStats()
    protocol = LeanMediaProtocol(CallerEar(stats))
    transport = FakeTransport()
    protocol.connection_made(transport)  # type: ignore[arg-type]
    wire = (
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"
        + server_frame(encode_audio(bytes(640)).encode())
        + server_frame(encode_audio(bytes(960)).encode())
        + server_frame(b"hi", 0x9)
        + server_frame(encode_stop_audio().encode())
        + server_frame(bytes(70000), 0x2)
    )
    for i in range(0, len(wire), 7):  # arbitrary TCP chunking
        protocol.data_received(wire[i : i + 7])
    assert protocol.upgraded.done() and protocol.upgraded.exception() is None
    assert stats.agent_frames == 3  # two audio frames + the binary one (counted as audio)
    assert stats.stop_audio == 1
    assert [unmask_client_frame(w) for w in transport.written] == [(0xA, b"hi")]


async def test_backend_close_is_answered_and_marked() -> None:
    protocol = LeanMediaProtocol(CallerEar(WindowStats()))
    transport = FakeTransport()
    protocol.connection_made(transport)  # type: ignore[arg-type]
    protocol.data_received(b"HTTP/1.1 101 OK\r\n\r\n" + server_frame((1011).to_bytes(2, "big"), 0x8))
    protocol.connection_lost(None)
    assert protocol.closed_by_backend and protocol.close_code == 1011 and transport.closed
    assert unmask_client_frame(transport.written[-1])[0] == 0x8


async def test_refused_upgrade_fails_the_handshake() -> None:
    protocol = LeanMediaProtocol(CallerEar(WindowStats()))
    protocol.connection_made(FakeTransport())  # type: ignore[arg-type]
    protocol.data_received(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n")
    with pytest.raises(Exception, match="403"):
        protocol.upgraded.result()


# ------------------------------------------------------------------ Prometheus -----------------------------


def exposition(lags: list[float], frames: int, malformed: int = 0) -> str:
    registry = CollectorRegistry()
    hist = Histogram(
        "switchboard_inbound_frame_lag_seconds",
        "lag",
        buckets=(0.001, 0.005, 0.01, 0.02, 0.05),
        registry=registry,
    )
    counter = Counter("switchboard_inbound_frames", "frames", ["result"], registry=registry)
    for lag in lags:
        hist.observe(lag)
    counter.labels(result="ok").inc(frames)
    counter.labels(result="malformed").inc(malformed)
    return generate_latest(registry).decode()


def test_parse_metrics_sums_and_splits_labels() -> None:
    snap = parse_metrics(exposition([0.004, 0.03], frames=7, malformed=2))
    assert snap.value("switchboard_inbound_frames_total") == 9
    assert snap.value("switchboard_inbound_frames_total", result="ok") == 7
    hist = snap.histogram("switchboard_inbound_frame_lag_seconds")
    assert hist is not None and hist.count == 2
    assert hist.buckets[0.005] == 1 and hist.buckets[math.inf] == 2


def test_histogram_delta_quantiles_and_share_over_the_limit() -> None:
    early = parse_metrics(exposition([0.1] * 50, frames=50))
    late_lags = [0.1] * 50 + [0.003] * 990 + [0.03] * 10
    late = parse_metrics(exposition(late_lags, frames=1050))
    delta = histogram_delta(late, early, "switchboard_inbound_frame_lag_seconds")
    assert delta is not None and delta.count == 1000
    assert delta.fraction_at_most(0.02) == pytest.approx(0.99)
    assert 0.001 < (delta.quantile(0.5) or 0) <= 0.005
    assert 0.005 <= (delta.quantile(0.99) or 0) <= 0.02
    assert 0.02 < (delta.quantile(0.995) or 0) <= 0.05
    summary = lag_summary(delta)
    assert summary["count"] == 1000 and summary["over_limit"] == pytest.approx(0.01)
    assert counter_delta(late, early, "switchboard_inbound_frames_total", result="ok") == 1000


def test_quantile_beyond_the_last_edge_reports_that_edge() -> None:
    snap = parse_metrics(exposition([1.0, 2.0], frames=2))
    hist = snap.histogram("switchboard_inbound_frame_lag_seconds")
    assert hist is not None and hist.quantile(0.99) == 0.05


def test_missing_metrics_are_none_not_errors() -> None:
    empty = MetricsSnapshot({}, {}, {})
    assert histogram_delta(None, None, "x") is None
    assert histogram_delta(empty, None, "x") is None
    assert counter_delta(empty, None, "x") is None
    assert lag_summary(None)["p99_ms"] is None


def test_percentile_nearest_rank() -> None:
    assert percentile([], 99) is None
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile(list(range(1, 101)), 99) == 99


# ------------------------------------------------------------------ capacity verdicts ----------------------


def probe(at: float, cpu_s: float, rss_mb: float, text: str | None, sent: int) -> Probe:
    metrics = parse_metrics(text) if text is not None else None
    return Probe(at, cpu_s, 0.0, int(rss_mb * 1024 * 1024), None, metrics, sent)


GEN_OK = {"generator_lag_p99_ms": 1.0}


def test_step_passes_within_limits() -> None:
    before = probe(0.0, 0.0, 100, exposition([], frames=0), 0)
    after = probe(10.0, 5.0, 110, exposition([0.003] * 995 + [0.03] * 5, frames=1000), 1002)
    idle = probe(0.0, 0.0, 100, None, 0)
    step = evaluate_step(10, before, after, idle, GEN_OK, dropped=0, failed=0)
    assert step["ok"], step["problems"]
    assert step["worker_cpu_pct"] == 50.0 and step["cpu_pct_per_call"] == 5.0
    assert step["mb_per_call"] == pytest.approx(1.0)
    assert step["backlog_frames"] == 2


def test_step_fails_on_lag_backlog_drops_and_generator_lag() -> None:
    before = probe(0.0, 0.0, 100, exposition([], frames=0), 0)
    after = probe(10.0, 5.0, 110, exposition([0.003] * 90 + [0.03] * 10, frames=100), 200)
    idle = probe(0.0, 0.0, 100, None, 0)
    step = evaluate_step(10, before, after, idle, {"generator_lag_p99_ms": 9.0}, dropped=1, failed=0)
    problems = " | ".join(step["problems"])
    assert not step["ok"]
    for expected in ("> 20 ms late", "frames behind", "calls dropped", "generator lag"):
        assert expected in problems


def test_step_without_metrics_does_not_pass() -> None:
    row = {
        "frame_lag": lag_summary(None),
        "calls": 1,
        "backlog_frames": None,
        "dropped_calls": 0,
        "failed_setups": 0,
        "generator": GEN_OK,
    }
    assert step_problems(row) == ["no frame-lag histogram from /metrics"]


@dataclass
class _VadCounts:
    windows_run: int
    windows_skipped: int
    batches_run: int


def _with_vad(text: str, counts: _VadCounts) -> str:
    registry = CollectorRegistry()
    registry.register(VadBatchCounters(counts))
    return text + generate_latest(registry).decode()


def test_a_step_reports_the_vad_batchers_mean_batch_from_the_workers_counters() -> None:
    before = probe(0.0, 0.0, 100, _with_vad(exposition([], frames=0), _VadCounts(100, 900, 20)), 0)
    after_text = _with_vad(exposition([0.003] * 1000, frames=1000), _VadCounts(1300, 5000, 120))
    after = probe(10.0, 5.0, 110, after_text, 1000)
    step = evaluate_step(10, before, after, probe(0.0, 0.0, 100, None, 0), GEN_OK, dropped=0, failed=0)
    assert step["vad_windows_per_run"] == 12.0  # (1300 - 100) windows in (120 - 20) runs
    no_vad = evaluate_step(
        10,
        probe(0.0, 0.0, 100, exposition([], frames=0), 0),
        probe(10.0, 5.0, 110, exposition([], frames=0), 0),
        probe(0.0, 0.0, 100, None, 0),
        GEN_OK,
        dropped=0,
        failed=0,
    )
    assert no_vad["vad_windows_per_run"] is None


def test_a_step_whose_first_scrape_failed_fails_instead_of_reading_the_run_so_far() -> None:
    """A saturated worker missed the step's first scrape: the later one holds every frame since start (here all
    punctual), which must not stand in for the step's own frames (here 10% late)."""
    earlier_history = [0.003] * 9000
    before = probe(0.0, 0.0, 100, None, 0)
    after = probe(
        10.0, 5.0, 110, exposition(earlier_history + [0.003] * 900 + [0.03] * 100, frames=10000), 10000
    )
    idle = probe(0.0, 0.0, 100, None, 0)
    step = evaluate_step(10, before, after, idle, GEN_OK, dropped=0, failed=0)
    assert not step["ok"]
    assert step["problems"] == ["no frame-lag histogram from /metrics"]
    assert step["cpu_us_per_frame"] is None and step["frames_handled"] is None


class _FlakyMetricsClient:
    """Answers /metrics after `failures` timeouts."""

    def __init__(self, failures: int, body: str) -> None:
        self.failures = failures
        self.calls = 0
        self.body = body

    async def get(self, path: str) -> httpx.Response:
        self.calls += 1
        if self.calls <= self.failures:
            raise httpx.ReadTimeout("worker busy")
        return httpx.Response(200, text=self.body, request=httpx.Request("GET", f"http://w{path}"))


async def test_a_scrape_is_retried_when_a_busy_worker_misses_the_timeout() -> None:
    body = exposition([0.003] * 10, frames=10)
    answered = _FlakyMetricsClient(failures=2, body=body)
    snapshot = await scrape(answered, retry_after_s=0.0)
    assert snapshot is not None and answered.calls == 3
    assert (
        counter_delta(snapshot, MetricsSnapshot({}, {}, {}), "switchboard_inbound_frames_total", result="ok")
        == 10
    )
    silent = _FlakyMetricsClient(failures=5, body=body)
    assert await scrape(silent, attempts=3, retry_after_s=0.0) is None
    assert silent.calls == 3


# ------------------------------------------------------------------ refresh bench registry -----------------


def test_bench_registry_is_valid_and_an_edit_is_seen_through_the_parse_cache(tmp_path: Path) -> None:
    root = write_registry(tmp_path / "agents", agents=20)
    first = load_registry([root])
    names = [n for n in first.agents if n.startswith("bench_agent_")]
    assert len(names) == 20 and "bench_line_1" in first.scenarios
    assert load_registry([root]).version == first.version  # unchanged files: same version
    write_agent(root, 3, revision=7)
    second = load_registry([root])
    assert second.version != first.version
    assert "revision 7" in second.agents["bench_agent_003"].greeting
    assert second.diff(first).agents.changed == ("bench_agent_003",)
    assert first.agents["bench_agent_003"].name == "bench_agent_003"  # cached documents were not mutated
