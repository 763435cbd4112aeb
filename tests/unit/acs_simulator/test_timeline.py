"""Timeline bookkeeping and agent speech detection from a steady 20 ms frame sequence."""

from __future__ import annotations

import orjson

from apps.acs_simulator.timeline import AgentAudioDetector, Timeline


def run(pattern: str, gap_ms: float = 200.0) -> list[tuple[str, float]]:
    """`pattern`: one character per 20 ms frame, '#' voiced, '.' silent; frame i starts at i * 20 ms."""
    detector = AgentAudioDetector(gap_ms=gap_ms)
    for i, ch in enumerate(pattern):
        detector.feed(i * 20.0, ch == "#")
    detector.flush()
    return detector.events


def test_one_utterance_has_one_start_and_one_stop():
    assert run("....." + "#" * 50 + "." * 20) == [("agent_audio_start", 100.0), ("agent_audio_stop", 1100.0)]


def test_short_gaps_do_not_split_an_utterance():
    # 180 ms of silence (9 frames) inside speech is a pause between words, not a new turn
    assert run("#" * 10 + "." * 9 + "#" * 10 + "." * 15) == [
        ("agent_audio_start", 0.0),
        ("agent_audio_stop", 580.0),
    ]


def test_a_gap_of_200_ms_or_more_splits():
    events = run("#" * 10 + "." * 10 + "#" * 10 + "." * 15)
    assert events == [
        ("agent_audio_start", 0.0),
        ("agent_audio_stop", 200.0),
        ("agent_audio_start", 400.0),
        ("agent_audio_stop", 600.0),
    ]


def test_stop_is_known_only_after_the_gap_and_flush_closes_a_trailing_utterance():
    detector = AgentAudioDetector()
    for i in range(5):
        detector.feed(i * 20.0, True)
    for i in range(5, 14):  # 180 ms of silence so far
        detector.feed(i * 20.0, False)
    assert detector.speaking
    assert detector.events == [("agent_audio_start", 0.0)]
    detector.flush()
    assert detector.events[-1] == ("agent_audio_stop", 100.0)


def test_silence_duration():
    detector = AgentAudioDetector()
    assert detector.silent_for_ms(500.0) == 500.0
    detector.feed(0.0, True)
    assert detector.silent_for_ms(10.0) == 0.0
    for i in range(1, 12):
        detector.feed(i * 20.0, False)
    assert detector.silent_for_ms(1020.0) == 1000.0


def test_events_reach_the_timeline_in_time_order_even_when_marked_late():
    clock = iter([10.0, 10.5, 11.0, 11.2]).__next__
    timeline = Timeline(clock=clock)  # t0 = 10.0 s
    detector = AgentAudioDetector(lambda kind, t: timeline.mark(kind, t_ms=t))
    timeline.mark("connected")  # at 500 ms
    detector.feed(600.0, True)
    timeline.mark("hangup", by="caller")  # at 1000 ms
    detector.flush()  # stop at 620 ms, marked after the hangup
    assert timeline.kinds() == ["connected", "agent_audio_start", "agent_audio_stop", "hangup"]
    assert timeline.first("agent_audio_stop").t_ms == 620.0


def test_timeline_prints_as_a_table_and_json():
    clock = iter([0.0, 0.25, 1.5]).__next__
    timeline = Timeline(clock=clock)
    timeline.mark("answered")
    timeline.mark("hangup", by="backend")
    table = timeline.format_table().splitlines()
    assert table[0].split() == ["t", "(s)", "event", "detail"]
    assert table[1].split() == ["0.250", "answered"]
    assert table[2].split() == ["1.500", "hangup", "by=backend"]
    assert orjson.loads(timeline.to_json()) == [
        {"t_ms": 250.0, "event": "answered"},
        {"t_ms": 1500.0, "event": "hangup", "detail": {"by": "backend"}},
    ]
