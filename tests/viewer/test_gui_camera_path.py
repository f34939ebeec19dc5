"""GUI test of the camera-path panel: the real `nerf-viewer` under Xvfb, keyframes added with K from
three views, the render size and fps typed into the panel, a short video rendered by its button.

Where the panel's buttons are comes from the app's NERF_VIEWER_DEBUG_STATE snapshot; the side
column is scrolled with the wheel until they are on screen.
"""
from __future__ import annotations

import time
from pathlib import Path

import imageio.v2 as imageio
import pytest

from tests.support.xdriver import press, start_viewer, wait_state, xdo

pytestmark = pytest.mark.gui


def _drag(env, x: int, y: int, dx: int, dy: int) -> None:
    xdo(env, "mousemove", x, y)
    time.sleep(0.2)
    xdo(env, "mousedown", 1)
    for i in range(1, 9):
        xdo(env, "mousemove", x + dx * i // 8, y + dy * i // 8)
        time.sleep(0.05)
    xdo(env, "mouseup", 1)


def _item(debug: Path, app, env, name: str) -> tuple[int, int]:
    """The centre of the panel's item `name`, scrolling the side column until it is on screen."""
    for _ in range(60):
        s = wait_state(debug, app, lambda s: s.get("path", {}).get("items"), 10, "the path panel")
        x, y, w, h, visible = s["path"]["items"][name]
        vx, vy, vw, vh = s["view_rect"]
        if visible and y + h < vy + vh:
            return int(x + w / 2), int(y + h / 2)
        xdo(env, "mousemove", int(vx + vw + 150), int(vy + vh / 2))
        xdo(env, "click", 5 if y + h >= vy + vh else 4)  # the wheel: down, or up when above
        time.sleep(0.3)
    pytest.fail(f"the panel's '{name}' never came on screen")


def _type_into(debug: Path, app, env, name: str, value: str) -> None:
    xdo(env, "mousemove", *_item(debug, app, env, name))
    xdo(env, "click", 1)
    time.sleep(0.2)
    xdo(env, "key", "ctrl+a")
    xdo(env, "type", value)
    xdo(env, "key", "Return")
    time.sleep(0.2)


def test_keyframes_from_three_views_render_a_video(xdisplay, tmp_path):  # noqa: F811
    out, debug = tmp_path / "run", tmp_path / "state.json"
    app, env = start_viewer(xdisplay, out, debug)
    try:
        s = wait_state(debug, app, lambda s: s["frames_shown"] >= 1, 90, "a first frame")
        x, y, w, h = s["view_rect"]
        cx, cy = int(x + w / 2), int(y + h / 2)
        for n, (dx, dy) in enumerate([(160, 30), (-200, 40), (0, 0)], start=1):
            xdo(env, "mousemove", cx, cy)  # K works only while the view has the mouse
            time.sleep(0.2)
            press(env, "k")
            wait_state(debug, app, lambda s, n=n: s["path"]["keyframes"] == n, 10, f"keyframe {n}")
            if dx or dy:
                _drag(env, cx, cy, dx, dy)

        # 3 keyframes 2 s apart at 2 fps: 4 s, int(4 x 2) = 8 frames at 32x24 (nerfstudio stops short of the end)
        for name, value in (("fps", "2"), ("width", "32"), ("height", "24")):
            _type_into(debug, app, env, name, value)
        s = wait_state(debug, app, lambda s: s["path"]["frames"] == 8, 10, "8 frames at 2 fps")

        xdo(env, "mousemove", *_item(debug, app, env, "render"))
        xdo(env, "click", 1)
        s = wait_state(debug, app, lambda s: s["path"]["rendered"], 60, "the camera-path video")
        video = Path(s["path"]["rendered"])
        assert video.parent == out and video.exists()
        assert any(f.startswith("camera path: camera-path-001.mp4") for f in s["files"])
        reader = imageio.get_reader(video)
        frames = [f for f in reader]
        assert len(frames) == 8 and frames[0].shape[:2] == (24, 32)

        press(env, "Escape")
        assert app.wait(15) == 0
    finally:
        if app.poll() is None:
            app.kill()
