"""GUI test of the view's newer controls on the real `nerf-viewer` under Xvfb: the help overlay on a
first start and F1, the first view a training camera's, `[` / `]` stepping through the cameras,
a drag leaving the snapped view.

State comes from NERF_VIEWER_DEBUG_STATE (tests/support/xdriver.py), input from real X events.
"""
from __future__ import annotations

import time

import numpy as np
import pytest

from tests.support.xdriver import press, start_viewer, wait_state, xdo

pytestmark = pytest.mark.gui


def test_first_view_help_and_brackets(xdisplay, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # a first start
    marker = tmp_path / "config" / "nerf-viewer" / "help-seen"
    out, debug = tmp_path / "run", tmp_path / "state.json"
    app, env = start_viewer(xdisplay, out, debug)
    try:
        s = wait_state(debug, app, lambda s: s["frames_shown"] >= 1, 90, "a first frame")
        # The first start shows the help; F1 hides it (for good) and shows it again.
        assert s["help"] is True and not marker.exists()
        x, y, w, h = s["view_rect"]
        cx, cy = int(x + w / 2), int(y + h / 2)
        xdo(env, "mousemove", cx, cy)
        press(env, "F1")
        wait_state(debug, app, lambda s: s["help"] is False, 10, "F1 to hide the help")
        assert marker.exists()
        press(env, "F1")
        wait_state(debug, app, lambda s: s["help"] is True, 10, "F1 to show the help")
        xdo(env, "click", 1)  # a click in the view dismisses it
        wait_state(debug, app, lambda s: s["help"] is False, 10, "a click to dismiss the help")

        # The first view is a training camera's, snapped; [ and ] step through the cameras.
        assert s["snapped"] is not None and s["snapped"][0] == "train"
        first = s["snapped"][1]
        press(env, "bracketright")
        s2 = wait_state(debug, app, lambda s: s["snapped"] and s["snapped"][1] != first, 10, "the next camera")
        assert s2["snapped"][1] in (first + 1, 0)  # the next one, or round to the first
        assert not np.allclose(s2["c2w"], s["c2w"])  # the camera went there
        press(env, "bracketleft")
        wait_state(debug, app, lambda s: s["snapped"] == ["train", first], 10, "back to the first camera")

        # A drag leaves the snapped view.
        xdo(env, "mousedown", 1)
        for i in range(1, 6):
            xdo(env, "mousemove", cx + 15 * i, cy)
            time.sleep(0.05)
        xdo(env, "mouseup", 1)
        wait_state(debug, app, lambda s: s["snapped"] is None, 10, "the drag to leave the snapped view")

        press(env, "Escape")
        assert app.wait(15) == 0
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
