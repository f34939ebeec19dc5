"""The split view's pure parts: composing two images at the divider, the divider's grab and drag, and
the ground truth brought to a smaller frame's size."""
import numpy as np
import pytest

from viewer.split_view import GRAB_PX, Split, resize_nearest, split_image


def test_left_up_to_the_divider_right_from_it():
    left, right = np.zeros((2, 10, 3)), np.ones((2, 10, 3))
    out = split_image(left, right, 0.3)
    assert out[:, :3].max() == 0 and out[:, 3:].min() == 1  # column round(0.3 * 10) = 3 onward is right
    assert split_image(left, right, 0.0).min() == 1 and split_image(left, right, 1.5).max() == 0
    with pytest.raises(AssertionError):
        split_image(left, np.ones((2, 9, 3)), 0.5)


def test_the_divider_is_grabbed_near_it_and_stays_inside_the_frame():
    moves = []
    s = Split(on_move=lambda: moves.append(s.fraction))
    s.frame = (100.0, 20.0, 400.0, 300.0)  # the frame letterboxed at x 100 .. 500
    assert s.x == 300.0
    assert not s.grab((300.0, 50.0)) and not s.dragging  # not split: nothing to hold
    s.active = True
    assert not s.grab((300.0 + GRAB_PX + 1, 50.0)) and not s.dragging
    assert s.grab((300.0 - GRAB_PX + 1, 50.0)) and s.dragging
    s.drag((200.0, 80.0))
    assert s.fraction == pytest.approx(0.25) and s.x == pytest.approx(200.0) and moves == [0.25]
    s.release()
    assert not s.dragging
    s.move_to(50.0)
    assert s.fraction == 0.0
    s.move_to(900.0)
    assert s.fraction == 1.0


def test_nearest_resize_by_hand():
    img = np.arange(4, dtype=np.float32).reshape(2, 2, 1)  # [[0, 1], [2, 3]]
    assert resize_nearest(img, 4, 4)[..., 0].tolist() == [[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3], [2, 2, 3, 3]]
    assert resize_nearest(img, 1, 1)[..., 0].tolist() == [[3]]  # the centre sample rounds to the last pixel
