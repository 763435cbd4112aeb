"""The A/B bench's verdict: a difference is called real only when it is outside the runs' own noise."""

import pytest

from bench.cpu_ab import compare


def test_a_difference_larger_than_the_noise_is_told_from_it() -> None:
    result = compare([100.0, 101.0, 99.0], [90.0, 91.0, 89.0])
    assert result.change == pytest.approx(-10.0)
    assert result.old_sd == pytest.approx(1.0) and result.new_sd == pytest.approx(1.0)
    # Welch: se = sqrt(1/3 + 1/3), 4 degrees of freedom, t = 2.78.
    assert result.half_width == pytest.approx(2.78 * (2 / 3) ** 0.5)
    assert result.told_from_noise


def test_a_difference_inside_the_run_to_run_spread_is_not() -> None:
    """Today's own case: 98.1/101.7/95.9 against 99.1/96.7/96.4 us per frame."""
    result = compare([98.1, 101.7, 95.9], [99.1, 96.7, 96.4])
    assert result.change == pytest.approx(-1.1666, abs=1e-3)
    assert not result.told_from_noise


def test_one_run_a_side_gives_no_interval() -> None:
    with pytest.raises(ValueError):
        compare([100.0], [90.0, 91.0])
