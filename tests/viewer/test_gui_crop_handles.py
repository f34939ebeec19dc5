"""GUI test of the crop box's handles on the real `nerf-viewer` under Xvfb: with the Camera path
panel's crop box on, a drag on a face's handle moves that face, one on the centre's moves the box,
and neither orbits the camera.

State comes from NERF_VIEWER_DEBUG_STATE, input from real X events (tests/support/xdriver.py).
"""
from __future__ import annotations

import numpy as np
import pytest

from tests.support.xdriver import click_item, drag, read_state, scroll_to, viewer_without_help, wait_state

pytestmark = pytest.mark.gui


def _settled(debug, app) -> dict:
    let_go = read_state(debug)
    return wait_state(debug, app, lambda s: s["time"] > let_go["time"] + 0.5, 10, "the app to run on")


def test_crop_handles_move_a_face_and_the_box(xdisplay, tmp_path):
    with viewer_without_help(xdisplay, tmp_path) as (app, env, debug):
        s = wait_state(debug, app, lambda s: s["frames_shown"] >= 1, 90, "a first frame")
        assert s["crop_handles"]["crop"] is None and s["crop_handles"]["handles"] == []
        s = scroll_to(env, debug, app, "path", "crop")
        click_item(env, s["path"]["items"]["crop"])
        s = wait_state(debug, app, lambda s: s["crop_handles"]["crop"] is not None, 10, "the crop box")
        lo, hi = (np.array(v) for v in s["crop_handles"]["crop"])
        vx, vy, vw, vh = s["view_rect"]
        xy, depth = np.array(s["crop_handles"]["handles"]), np.array(s["crop_handles"]["depth"])

        # A face whose handle is in the view, well apart from the centre's: dragged a third of the
        # way towards the centre, that face moves in along its axis and nothing else changes.
        apart = np.linalg.norm(xy - xy[0], axis=1)
        inside = (depth > 0) & (xy[:, 0] > 10) & (xy[:, 0] < vw - 10) & (xy[:, 1] > 10) & (xy[:, 1] < vh - 10)
        faces = [i for i in range(1, 7) if inside[i] and apart[i] > 60]
        assert faces, s["crop_handles"]
        face = max(faces, key=lambda i: apart[i])
        step = (xy[0] - xy[face]) / 3
        drag(env, int(vx + xy[face][0]), int(vy + xy[face][1]), int(step[0]), int(step[1]))
        s2 = _settled(debug, app)
        lo2, hi2 = (np.array(v) for v in s2["crop_handles"]["crop"])
        axis, is_hi = (face - 1) // 2, (face - 1) % 2 == 1
        moved, kept = (hi2, lo2) if is_hi else (lo2, hi2)
        before = hi if is_hi else lo
        assert abs(moved[axis]) < abs(before[axis]) - 0.05  # in towards the centre
        np.testing.assert_allclose(kept, lo if is_hi else hi)
        np.testing.assert_allclose(np.delete(moved, axis), np.delete(before, axis))
        assert s2["c2w"] == s["c2w"]  # the drag held the handle, not the camera

        # The centre's handle moves the whole box, its size kept.
        centre = np.array(s2["crop_handles"]["handles"][0])
        drag(env, int(vx + centre[0]), int(vy + centre[1]), -40, 25)
        s3 = _settled(debug, app)
        lo3, hi3 = (np.array(v) for v in s3["crop_handles"]["crop"])
        np.testing.assert_allclose(hi3 - lo3, hi2 - lo2, atol=1e-6)
        assert np.abs(lo3 - lo2).max() > 0.01 and s3["c2w"] == s["c2w"]
