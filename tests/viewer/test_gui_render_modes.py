"""GUI tests of the Render panel's view modes on the real `nerf-viewer` under Xvfb: the depth view in
nerf-render's colours with its range, automatic or typed in; the split view against the ground
truth or another mode, its divider dragged.

State comes from NERF_VIEWER_DEBUG_STATE, input from real X events (tests/support/xdriver.py).
"""
from __future__ import annotations

import time

import pytest

from tests.support.xdriver import click_item, drag, read_state, scroll_to, type_into, viewer_without_help, wait_state
from viewer.panels.render import MODES
from viewer.split_view import GROUND_TRUTH, OFF

pytestmark = pytest.mark.gui


def choose(env, debug, app, combo: str, value: str) -> dict:
    """Pick `value` in the Render panel's `combo` ("mode" or "compare"): open it, click its row in
    the list below."""
    rows = MODES if combo == "mode" else (OFF, GROUND_TRUTH, *MODES)
    rect = scroll_to(env, debug, app, "render", combo)["render"]["items"][combo]
    click_item(env, rect)
    time.sleep(0.3)
    click_item(env, rect, dy=rect[3] * (rows.index(value) + 1) + 4)
    return wait_state(debug, app, lambda s: s["render"][combo] == value, 10, f"{combo} {value}")


def test_depth_mode_colours_with_an_automatic_or_typed_range(xdisplay, tmp_path):
    with viewer_without_help(xdisplay, tmp_path) as (app, env, debug):
        rgb = wait_state(debug, app, lambda s: s["frames_shown"] >= 1, 90, "a first frame")
        assert rgb["depth_shown"] is None  # RGB: no depth range, no colour bar
        choose(env, debug, app, "mode", "Depth")
        s = wait_state(debug, app, lambda s: s["depth_shown"] is not None, 20, "a depth frame")
        near, far = s["depth_shown"]
        # automatic: the frame's own (early in training nothing may be opaque yet: then 0 .. 1 and a
        # black frame, as nerf-render draws it; the colours themselves are tested in test_depth_view.py)
        assert near < far and s["render"]["depth_span"] is None
        assert s["frame_hash"] != rgb["frame_hash"]
        # while automatic, the fields show the range in use
        s = wait_state(debug, app, lambda s: s["render"]["depth_fields"] == pytest.approx(s["depth_shown"], rel=1e-3),
                       10, "the fields to show the range")

        # Unticking auto keeps the range on screen; a typed far value is the range's far end.
        click_item(env, s["render"]["items"]["auto"])
        s = wait_state(debug, app, lambda s: s["render"]["depth_span"] is not None, 10, "a fixed range")
        assert s["render"]["depth_span"] == pytest.approx(s["depth_shown"], rel=1e-3)
        typed_far = round(s["depth_shown"][1] * 0.5 + s["depth_shown"][0] * 0.5, 3)
        type_into(env, debug, app, s["render"]["items"]["far"], str(typed_far))
        s = wait_state(debug, app, lambda s: s["depth_shown"] and s["depth_shown"][1] == pytest.approx(typed_far),
                       10, "the typed far value")
        assert s["render"]["depth_span"] == pytest.approx(s["depth_shown"])

        # Back to RGB: no depth range.
        choose(env, debug, app, "mode", "RGB")
        wait_state(debug, app, lambda s: s["depth_shown"] is None, 10, "the RGB view")


def test_split_view_against_ground_truth_and_another_mode(xdisplay, tmp_path):
    with viewer_without_help(xdisplay, tmp_path) as (app, env, debug):
        s = wait_state(debug, app, lambda s: s["frames_shown"] >= 1, 90, "a first frame")
        assert s["snapped"] is not None and s["compare"]["labels"] is None  # not split
        choose(env, debug, app, "compare", GROUND_TRUTH)
        s = wait_state(debug, app, lambda s: s["compare"]["labels"] == ["RGB", GROUND_TRUTH], 10, "the split")
        assert s["compare"]["fraction"] == 0.5

        # A drag on the divider moves it, and only it: the camera stays on its dataset view.
        vx, vy, vw, vh = s["view_rect"]
        drag(env, int(vx + s["compare"]["divider_x"]), int(vy + vh / 2), 100, 30)
        let_go = read_state(debug)
        moved = wait_state(debug, app, lambda s: s["time"] > let_go["time"] + 0.5, 10, "the app to run on")
        assert abs(moved["compare"]["divider_x"] - (s["compare"]["divider_x"] + 100)) < 2  # where the mouse let go
        assert moved["c2w"] == s["c2w"] and moved["snapped"] == s["snapped"]
        assert moved["frame_hash"] != s["frame_hash"]

        # Away from the dataset view there is no ground truth: a note says why; another mode splits anywhere.
        drag(env, int(vx + vw * 0.2), int(vy + vh / 2), 80, 20)
        s = wait_state(debug, app, lambda s: s["snapped"] is None and s["compare"]["note"], 20, "the note")
        assert s["compare"]["labels"] is None
        choose(env, debug, app, "compare", "Depth")
        s = wait_state(debug, app, lambda s: s["compare"]["labels"] == ["RGB", "Depth"], 10, "RGB | depth")
        assert s["depth_shown"] is not None and not s["compare"]["note"]
