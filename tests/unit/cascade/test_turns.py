"""Turn-taking policy: turns, end-of-turn silence, barge-in versus backchannel, from VAD probabilities."""

from voice.speech_cascade.turns import BargeIn, TurnEnded, TurnPolicy, TurnStarted, TurnTracker


def run(tracker: TurnTracker, probabilities: list[float], *, agent_active: bool) -> list[object]:
    events: list[object] = []
    for p in probabilities:
        events.extend(tracker.update(p, agent_active=agent_active))
    return events


def windows(ms: int) -> int:
    return ms // 32


def test_a_turn_ends_after_the_agents_end_of_turn_silence() -> None:
    tracker = TurnTracker(TurnPolicy(end_of_turn_silence_ms=640))
    events = run(tracker, [0.9] * windows(960) + [0.05] * windows(608), agent_active=False)
    assert [type(e) for e in events] == [TurnStarted]  # 608 ms of silence is not enough
    events = run(tracker, [0.05], agent_active=False)
    assert len(events) == 1 and isinstance(events[0], TurnEnded)
    ended = events[0]
    assert ended.speech_ms == 960
    assert ended.silence_ms == 640


def test_speech_over_the_agent_becomes_barge_in_after_the_minimum_duration() -> None:
    tracker = TurnTracker(TurnPolicy(min_barge_in_ms=320))
    events = run(tracker, [0.95] * windows(288), agent_active=True)
    assert [type(e) for e in events] == [TurnStarted]
    events = run(tracker, [0.95] * 2, agent_active=True)
    assert [type(e) for e in events] == [BargeIn]
    assert events[0].at_ms == 0  # reported from the onset, for barge-in latency
    events = run(tracker, [0.0] * windows(1000), agent_active=False)
    assert [type(e) for e in events] == [TurnEnded]
    assert not tracker.turn_was_backchannel


def test_a_short_backchannel_over_the_agent_is_not_a_barge_in() -> None:
    tracker = TurnTracker(TurnPolicy(min_barge_in_ms=300, end_of_turn_silence_ms=400))
    events = run(tracker, [0.95] * windows(224) + [0.0] * windows(480), agent_active=True)
    assert [type(e) for e in events] == [TurnStarted, TurnEnded]
    assert tracker.turn_was_backchannel


def test_echo_level_probabilities_do_not_barge_in() -> None:
    # The agent's own voice leaking back scores as weak speech: above the onset bar, below the barge-in bar.
    tracker = TurnTracker(TurnPolicy(min_barge_in_ms=300, barge_in_threshold=0.7))
    events = run(tracker, [0.6] * windows(2000), agent_active=True)
    assert [type(e) for e in events] == [TurnStarted]


def test_barge_in_disabled_for_the_agent() -> None:
    tracker = TurnTracker(TurnPolicy(barge_in=False))
    events = run(tracker, [0.95] * windows(2000), agent_active=True)
    assert BargeIn not in [type(e) for e in events]


def test_switching_agent_policy_keeps_the_time_axis() -> None:
    tracker = TurnTracker(TurnPolicy(end_of_turn_silence_ms=600))
    run(tracker, [0.0] * 10, agent_active=False)
    tracker.set_policy(TurnPolicy(end_of_turn_silence_ms=320))
    events = run(tracker, [0.9] * 5 + [0.0] * 10, agent_active=False)
    started = next(e for e in events if isinstance(e, TurnStarted))
    ended = next(e for e in events if isinstance(e, TurnEnded))
    assert started.at_ms == 10 * 32
    assert ended.silence_ms == 320
