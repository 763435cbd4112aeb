"""Turn-taking policy: turns, end-of-turn silence, barge-in versus backchannel, from VAD probabilities."""

from voice.audio.turns import (
    BargeIn,
    PauseAgent,
    ResumeAgent,
    TurnEnded,
    TurnPolicy,
    TurnStarted,
    TurnTracker,
)


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
    tracker = TurnTracker(TurnPolicy(min_barge_in_ms=320, pause_after_ms=64))
    events = run(tracker, [0.95] * windows(288), agent_active=True)
    # The agent goes quiet after 64 ms of strong speech, long before the barge-in is certain.
    assert [type(e) for e in events] == [PauseAgent, TurnStarted]
    assert events[0].at_ms == 0
    assert tracker.paused
    events = run(tracker, [0.95] * 2, agent_active=True)
    assert [type(e) for e in events] == [BargeIn]
    assert events[0].at_ms == 0  # reported from the onset, for barge-in latency
    assert not tracker.paused  # the pause became the interruption: nothing to resume
    events = run(tracker, [0.0] * windows(1000), agent_active=False)
    assert [type(e) for e in events] == [TurnEnded]
    assert not tracker.turn_was_backchannel


def test_a_short_backchannel_over_the_agent_is_not_a_barge_in() -> None:
    tracker = TurnTracker(
        TurnPolicy(min_barge_in_ms=300, end_of_turn_silence_ms=400, pause_after_ms=64, resume_after_ms=192)
    )
    events = run(tracker, [0.95] * windows(224) + [0.0] * windows(480), agent_active=True)
    assert [type(e) for e in events] == [PauseAgent, TurnStarted, ResumeAgent, TurnEnded]
    pause, resume = events[0], events[2]
    # The agent carried on 192 ms after the "uh-huh" died down, without waiting for the end of turn.
    assert resume.at_ms - (pause.at_ms + 224) == 192
    assert tracker.turn_was_backchannel


def test_a_click_pauses_the_agent_only_briefly() -> None:
    # Two strong windows (a cough, a click) never make a turn: the agent resumes after resume_after_ms.
    tracker = TurnTracker(TurnPolicy(pause_after_ms=64, resume_after_ms=128, min_speech_ms=96))
    events = run(tracker, [0.95] * 2 + [0.0] * 4, agent_active=True)
    assert [type(e) for e in events] == [PauseAgent, ResumeAgent]
    assert events[1].at_ms == 6 * 32


def test_no_pause_for_weak_speech_or_while_the_agent_is_silent() -> None:
    tracker = TurnTracker(TurnPolicy(barge_in_threshold=0.7))
    assert PauseAgent not in [type(e) for e in run(tracker, [0.6] * 20, agent_active=True)]
    tracker = TurnTracker(TurnPolicy())
    assert PauseAgent not in [type(e) for e in run(tracker, [0.95] * 20, agent_active=False)]


def test_a_pause_is_dropped_when_the_agent_stops_some_other_way() -> None:
    tracker = TurnTracker(TurnPolicy(pause_after_ms=64))
    run(tracker, [0.95] * 2, agent_active=True)
    assert tracker.paused
    events = run(tracker, [0.0] * 10, agent_active=False)
    assert ResumeAgent not in [type(e) for e in events]
    assert not tracker.paused


def test_echo_level_probabilities_do_not_barge_in() -> None:
    # The agent's own voice leaking back scores as weak speech: above the onset bar, below the barge-in bar.
    tracker = TurnTracker(TurnPolicy(min_barge_in_ms=300, barge_in_threshold=0.7))
    events = run(tracker, [0.6] * windows(2000), agent_active=True)
    assert [type(e) for e in events] == [TurnStarted]


def test_barge_in_disabled_for_the_agent() -> None:
    tracker = TurnTracker(TurnPolicy(barge_in=False))
    events = run(tracker, [0.95] * windows(2000), agent_active=True)
    assert BargeIn not in [type(e) for e in events]
    assert PauseAgent not in [type(e) for e in events]


def test_switching_agent_policy_keeps_the_time_axis() -> None:
    tracker = TurnTracker(TurnPolicy(end_of_turn_silence_ms=600))
    run(tracker, [0.0] * 10, agent_active=False)
    tracker.set_policy(TurnPolicy(end_of_turn_silence_ms=320))
    events = run(tracker, [0.9] * 5 + [0.0] * 10, agent_active=False)
    started = next(e for e in events if isinstance(e, TurnStarted))
    ended = next(e for e in events if isinstance(e, TurnEnded))
    assert started.at_ms == 10 * 32
    assert ended.silence_ms == 320


def test_the_between_turns_shortcut_gives_the_events_of_the_full_rules() -> None:
    """Quiet windows between turns take a shortcut in `update`; with it switched off, every random sequence
    of windows and agent activity must give the same events at the same windows, in both modes."""
    import random

    rng = random.Random(11)
    for policy in (TurnPolicy(), TurnPolicy(mode="semantic", min_silence_ms=200)):
        for _ in range(40):
            fast, full = TurnTracker(policy), TurnTracker(policy)
            full._quiet_below = float("-inf")  # never takes the shortcut
            level, active = 0.0, False
            for _ in range(400):
                if rng.random() < 0.1:
                    level = rng.choice((0.0, 0.2, 0.4, 0.6, 0.8, 0.95))
                if rng.random() < 0.05:
                    active = not active
                noisy = min(1.0, max(0.0, level + rng.uniform(-0.15, 0.15)))
                probability = noisy if rng.random() < 0.9 else 0.0
                assert fast.update(probability, agent_active=active) == full.update(
                    probability, agent_active=active
                )
            assert fast.elapsed_ms == full.elapsed_ms
