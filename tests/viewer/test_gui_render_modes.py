"""GUI test of the Render panel's view modes on the real `nerf-viewer` under Xvfb: the depth view in
nerf-render's colours with its range, automatic or typed in.

State comes from NERF_VIEWER_DEBUG_STATE, input from real X events (tests/support/xdriver.py).
"""
from __future__ import annotations

import time

import pytest

from tests.support.xdriver import click_item, press, read_state, viewer_without_help, wait_state, xdo
from viewer.panels.render import MODES

pytestmark = pytest.mark.gui


def choose_mode(env, debug, app, mode: str) -> dict:
    """Pick `mode` in the Render panel's mode combo: open it, click its row in the list below."""
    rect = read_state(debug)["render"]["items"]["mode"]
    click_item(env, rect)
    time.sleep(0.3)
    click_item(env, rect, dy=rect[3] * (MODES.index(mode) + 1) + 4)
    return wait_state(debug, app, lambda s: s["render"]["mode"] == mode, 10, f"the {mode} mode")


def test_depth_mode_colours_with_an_automatic_or_typed_range(xdisplay, tmp_path):
    with viewer_without_help(xdisplay, tmp_path) as (app, env, debug):
        rgb = wait_state(debug, app, lambda s: s["frames_shown"] >= 1, 90, "a first frame")
        assert rgb["depth_shown"] is None  # RGB: no depth range, no colour bar
        choose_mode(env, debug, app, "Depth")
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
        click_item(env, s["render"]["items"]["far"])
        xdo(env, "key", "ctrl+a")
        xdo(env, "type", str(typed_far))
        press(env, "Return")
        s = wait_state(debug, app, lambda s: s["depth_shown"] and s["depth_shown"][1] == pytest.approx(typed_far),
                       10, "the typed far value")
        assert s["render"]["depth_span"] == pytest.approx(s["depth_shown"])

        # Back to RGB: no depth range.
        choose_mode(env, debug, app, "RGB")
        wait_state(debug, app, lambda s: s["depth_shown"] is None, 10, "the RGB view")
