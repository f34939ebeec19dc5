"""GUI test of File > Open on the real `nerf-viewer` under Xvfb: a path that cannot be opened is one
line and the session goes on; a scene folder, then the first session's checkpoint, each open in a
new session (the same process, re-executed), the old one saved first.

State comes from NERF_VIEWER_DEBUG_STATE, input from real X events (tests/support/xdriver.py).
"""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from assets import default_scene_path
from nerf.train.checkpoint import read_checkpoint
from tests.support.xdriver import click_item, scroll_to, type_into, viewer_without_help, wait_state, xdo

pytestmark = pytest.mark.gui


def _open(env, debug, app, path) -> None:
    s = scroll_to(env, debug, app, "open", "header")
    if not s["open"]["expanded"]:
        click_item(env, s["open"]["items"]["header"])
        wait_state(debug, app, lambda s: s["open"]["expanded"], 10, "the Open panel to open")
    s = scroll_to(env, debug, app, "open", "path")
    type_into(env, debug, app, s["open"]["items"]["path"], str(path))


def test_open_a_scene_then_a_checkpoint_in_new_sessions(xdisplay, tmp_path):
    with viewer_without_help(xdisplay, tmp_path) as (app, env, debug):
        first = wait_state(debug, app, lambda s: s["frames_shown"] >= 1 and s["stats"].get("step", 0) >= 2, 120,
                           "training")
        _open(env, debug, app, tmp_path / "nothing-here")
        s = wait_state(debug, app, lambda s: s["open"]["status"], 10, "the problem")
        assert s["open"]["status"] == f"{tmp_path / 'nothing-here'}: no such file or folder"
        assert s["run_dir"] == first["run_dir"]
        # the letters typed went to the field, not to the shortcuts (T evaluates, G records, K adds a keyframe)
        assert not s["recording"] and s["path"]["keyframes"] == 0 and s["stats"]["test"] is None

        _open(env, debug, app, default_scene_path())
        s = wait_state(debug, app, lambda s: s["run_dir"] != first["run_dir"] and s["frames_shown"] >= 1, 120,
                       "the new session")
        new_run = Path(s["run_dir"])
        assert new_run.parent == tmp_path and new_run.name.startswith("default_scene-")
        saved = read_checkpoint(Path(first["run_dir"]) / "checkpoint.pt")  # the old session was saved
        assert saved["state"]["step"] >= 2 and s["stats"]["model"] == "nerf"  # the model carried over

        _open(env, debug, app, Path(first["run_dir"]) / "checkpoint.pt")
        s = wait_state(debug, app, lambda s: s["run_dir"] not in (first["run_dir"], str(new_run))
                       and s["stats"].get("step", 0) >= 1, 120, "the checkpoint's session")
        assert Path(s["run_dir"]).name.startswith("run-")
        assert s["stats"]["step"] >= saved["state"]["step"]  # it goes on from the checkpoint

        # File > Open scene or photo folder... shows the folder dialog (picking in it is DearPyGui's own).
        xdo(env, "mousemove", 20, 9)
        time.sleep(0.2)
        xdo(env, "click", 1)
        time.sleep(0.5)
        xdo(env, "mousemove", 60, 30)  # the menu's first item
        time.sleep(0.2)
        xdo(env, "click", 1)
        wait_state(debug, app, lambda s: s["open"]["dialog"] == "folder", 10, "the folder dialog")
