"""Frame pacing: frame k is due at t0 + k * 20 ms, whatever happened to the frames before it."""

from __future__ import annotations

import pytest

from apps.acs_simulator.pacing import FramePacer


class FakeClock:
    def __init__(self, now: float = 100.0, oversleep: float = 0.0) -> None:
        self.now = now
        self.oversleep = oversleep
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds + self.oversleep


def test_deadlines_are_anchored_to_the_start():
    pacer = FramePacer(0.02)
    pacer.start(t0=5.0)
    assert [round(pacer.deadline(k), 9) for k in (0, 1, 50, 3000)] == [5.0, 5.02, 6.0, 65.0]
    assert pacer.delay_until(10, now=5.15) == pytest.approx(0.05)
    assert pacer.delay_until(10, now=5.3) == 0.0


def test_due_frames():
    pacer = FramePacer(0.02)
    pacer.start(t0=1.0)
    assert pacer.due_frames(0.5) == 0
    assert pacer.due_frames(1.0) == 1
    assert pacer.due_frames(1.019) == 1
    assert pacer.due_frames(1.02) == 2
    assert pacer.due_frames(2.0) == 51


async def test_sleep_overshoot_does_not_accumulate_into_drift():
    clock = FakeClock(oversleep=0.003)  # every sleep wakes 3 ms late
    pacer = FramePacer(0.02, clock=clock, sleep=clock.sleep)
    t0 = pacer.start()
    for k in range(500):
        await pacer.wait_for(k)
        assert clock.now - pacer.deadline(k) <= 0.003 + 1e-9
    # 10 s of frames end 10 s after the start (plus one oversleep), not 500 * 3 ms = 1.5 s late
    assert clock.now - t0 == pytest.approx(9.98 + 0.003)


async def test_a_late_frame_is_sent_at_once_and_the_schedule_catches_up():
    clock = FakeClock()
    pacer = FramePacer(0.02, clock=clock, sleep=clock.sleep)
    pacer.start()
    clock.now += 0.1  # the loop stalled for 100 ms
    sleeps_before = len(clock.sleeps)
    for k in range(6):  # frames 0..5 are all due by now
        await pacer.wait_for(k)
    assert len(clock.sleeps) == sleeps_before
    assert pacer.max_lateness_s == pytest.approx(0.1)
    await pacer.wait_for(6)
    assert clock.sleeps[-1] == pytest.approx(0.02)
