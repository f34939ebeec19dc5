"""The live view's moving-frame resolution follows the render time (no display needed)."""
import pytest

from viewer.view_schedule import LEVELS, MAX_MOVING_SCALE, MIN_MOVING_SCALE, MOVING_TARGET_S, next_moving_scale


def test_a_slow_moving_frame_shrinks_the_next_and_a_fast_one_grows_it_back():
    # 4x the target time: half the resolution (a quarter of the pixels) lands on the target
    assert next_moving_scale(0.2, 4 * MOVING_TARGET_S) == pytest.approx(0.1)
    assert next_moving_scale(0.1, MOVING_TARGET_S / 4) == pytest.approx(0.2)
    assert next_moving_scale(0.2, MOVING_TARGET_S) == pytest.approx(0.2)


def test_moving_scale_steps_at_most_2x_and_stays_in_its_range():
    assert next_moving_scale(0.2, 100 * MOVING_TARGET_S) == pytest.approx(0.1)  # one outlier: 2x, not 10x
    assert next_moving_scale(MIN_MOVING_SCALE, 10.0) == MIN_MOVING_SCALE
    assert next_moving_scale(LEVELS[0], 1e-6) == 2 * LEVELS[0] == MAX_MOVING_SCALE  # fast frames grow to 1/2
    assert next_moving_scale(MAX_MOVING_SCALE, 1e-6) == MAX_MOVING_SCALE
    scale = LEVELS[0]
    for _ in range(20):  # a render time that scales with the pixel count converges to the target
        scale = next_moving_scale(scale, 0.8 * (scale / LEVELS[0]) ** 2)
    assert 0.8 * (scale / LEVELS[0]) ** 2 == pytest.approx(MOVING_TARGET_S, rel=1e-3)
