"""GUI test of the scene overlay on the real `nerf-viewer` under Xvfb: the training cameras drawn as
frustums, a click on one going to that camera (not while they are hidden), and the per-camera scores:
the training PSNRs that colour them while training, and the rendered ones of "Score cameras".

The app reports each frustum's image centre in view pixels (NERF_VIEWER_DEBUG_STATE "frustums"), so
the test knows where to click; input is real X events (tests/support/xdriver.py).
"""
from __future__ import annotations

import shutil
import time

import numpy as np
import pytest

from assets import default_scene_path
from nerf.data.formats.pointcloud import write_ply_points

from tests.support.xdriver import click_item, drag, read_state, scroll_to, viewer_without_help, wait_state, xdo

pytestmark = pytest.mark.gui


def test_frustums_click_to_a_camera_hide_and_score(xdisplay, tmp_path):
    with viewer_without_help(xdisplay, tmp_path) as (app, env, debug):
        s = wait_state(debug, app, lambda s: s["frames_shown"] >= 1 and s["frustums"], 90, "a first frame")
        assert s["frustums"]["shown"] and s["frustums"]["selected"] == s["snapped"][1]  # the first camera's
        vx, vy, vw, vh = s["view_rect"]
        cx, cy = int(vx + vw / 2), int(vy + vh / 2)

        # Away from the first camera and back a little: other cameras come into view.
        drag(env, cx, cy, 200, 80)
        xdo(env, "mousemove", cx, cy)
        for _ in range(4):
            xdo(env, "click", 5)
        moved = wait_state(debug, app, lambda s: s["snapped"] is None, 10, "the drag to leave the snapped view")
        time.sleep(1.0)
        s = wait_state(debug, app, lambda s: s["c2w"] == read_state(debug)["c2w"] and s["time"] > moved["time"],
                       10, "the camera to rest")
        f = s["frustums"]
        inside = [i for i, ((u, v), z) in enumerate(zip(f["centres"], f["depth"], strict=True))
                  if z > 0 and 15 < u < vw - 15 and 15 < v < vh - 15]
        assert inside, f"no training camera in the view: {f}"
        # the nearest one: a click on its image's centre hits it before any camera behind it
        target = min(inside, key=lambda i: f["depth"][i])
        tx, ty = (int(vx + c) for c in f["centres"][target])

        # Hidden cameras cannot be clicked.
        s = scroll_to(env, debug, app, "overlays", "cameras")
        click_item(env, s["overlays"]["items"]["cameras"])
        wait_state(debug, app, lambda s: s["overlays"]["cameras"] is False and not s["frustums"]["shown"], 10,
                   "the cameras to be hidden")
        xdo(env, "mousemove", tx, ty)
        time.sleep(0.2)
        xdo(env, "click", 1)
        clicked = read_state(debug)
        later = wait_state(debug, app, lambda s: s["time"] >= clicked["time"] + 0.5, 20, "the app to run on")
        assert later["snapped"] is None

        # Shown again, a click on the frustum goes to that camera and highlights it.
        click_item(env, s["overlays"]["items"]["cameras"])
        wait_state(debug, app, lambda s: s["overlays"]["cameras"] is True, 10, "the cameras to be shown")
        xdo(env, "mousemove", tx, ty)
        time.sleep(0.2)
        xdo(env, "click", 1)
        s = wait_state(debug, app, lambda s: s["snapped"] == ["train", target], 10, f"a jump to camera {target}")
        wait_state(debug, app, lambda s: s["frustums"]["selected"] == target, 10, "the camera to be highlighted")

        # While training, every camera is coloured by its recent training PSNR, with no job to run.
        n = len(s["frustums"]["centres"])
        wait_state(debug, app, lambda s: s["overlays"]["colours"] == "training" and s["overlays"]["scored"] == n,
                   60, "every camera coloured by its training PSNR")

        # Scoring renders every training camera against its image, colouring the frustums as it
        # goes; Abort ends it (all 64 would take minutes on a busy CPU; the job itself is tested in
        # test_camera_scores.py), and the training figures come back.
        s = scroll_to(env, debug, app, "overlays", "score")
        click_item(env, s["overlays"]["items"]["score"])
        s = wait_state(debug, app, lambda s: s["overlays"]["status"].startswith("scoring ")
                       and 2 <= s["overlays"]["scored"] < n, 120, "two cameras scored, the others not yet")
        click_item(env, s["overlays"]["items"]["abort"])
        s = wait_state(debug, app, lambda s: s["overlays"]["status"] == "scoring aborted", 60, "the abort")
        assert "camera scores aborted" in s["files"] and not s["error"]
        wait_state(debug, app, lambda s: s["overlays"]["colours"] == "training" and s["overlays"]["scored"] == n,
                   30, "the training figures back after the abort")


def test_sparse_points_are_drawn_and_hidden(xdisplay, tmp_path):
    scene = tmp_path / "scene"
    shutil.copytree(default_scene_path(), scene)
    surface = np.random.default_rng(0).normal(size=(500, 3))
    write_ply_points(scene / "sparse_pc.ply", 0.6 * surface / np.linalg.norm(surface, axis=1, keepdims=True))
    argv = [str(scene), "--downscale", "2", "--device", "cpu", "--model", "nerf"]
    with viewer_without_help(xdisplay, tmp_path, argv) as (app, env, debug):
        s = wait_state(debug, app, lambda s: s["frames_shown"] >= 1 and s["dots_drawn"] > 0, 90, "the points")
        assert s["overlays"]["n_points"] == 500 and s["overlays"]["points"] is True
        assert s["dots_drawn"] > 100  # a sphere of points round the scene's centre, in front of the first camera
        s = scroll_to(env, debug, app, "overlays", "points")
        click_item(env, s["overlays"]["items"]["points"])
        wait_state(debug, app, lambda s: s["overlays"]["points"] is False and s["dots_drawn"] == 0, 10,
                   "the points to be hidden")
