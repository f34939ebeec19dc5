"""GUI test of the Export panel on the real `nerf-viewer` under Xvfb: a mesh and a point cloud of the
model being trained, written into the run folder as worker jobs, and an export aborted.

State comes from NERF_VIEWER_DEBUG_STATE, input from real X events (tests/support/xdriver.py).
"""
from __future__ import annotations

from pathlib import Path

import pytest

from nerf.data.formats.pointcloud import read_ply_points
from tests.support.xdriver import click_item, read_state, scroll_to, type_into, viewer_without_help, wait_state

pytestmark = pytest.mark.gui


def _export(env, debug, app, timeout: float) -> dict:
    before = read_state(debug)["export"]["last"]
    s = scroll_to(env, debug, app, "export", "export")
    click_item(env, s["export"]["items"]["export"])
    wait_state(debug, app, lambda s: s["export"]["exporting"], 10, "the export to start")
    return wait_state(debug, app, lambda s: s["export"]["exporting"] is None and s["export"]["last"] != before,
                      timeout, "the export to finish")


def test_export_a_mesh_and_a_point_cloud_and_abort(xdisplay, tmp_path):
    with viewer_without_help(xdisplay, tmp_path) as (app, env, debug):
        wait_state(debug, app, lambda s: s["frames_shown"] >= 1, 90, "a first frame")
        s = scroll_to(env, debug, app, "export", "header")
        click_item(env, s["export"]["items"]["header"])  # the panel opens
        s = scroll_to(env, debug, app, "export", "resolution")
        type_into(env, debug, app, s["export"]["items"]["resolution"], "24")
        # The model is a few steps into training: where its density crosses a given value moves
        # as it learns, so a few thresholds are tried until one cuts a surface.
        for threshold in ("0.3", "0.1", "1", "0.03", "3"):
            s = scroll_to(env, debug, app, "export", "threshold")
            type_into(env, debug, app, s["export"]["items"]["threshold"], threshold)
            s = _export(env, debug, app, 120)
            path, line = s["export"]["last"]
            if path != "None":
                break
            assert line == f"mesh: no surface at density {float(threshold):g} inside the crop box " \
                           "(try a lower threshold)"
        mesh = Path(path)
        assert mesh.parent == tmp_path / "run" and mesh.name == "mesh-001.ply"
        assert len(read_ply_points(mesh)) > 0 and line.startswith("mesh: mesh-001.ply (")
        assert s["export"]["info"].endswith(str(mesh)) and line in s["files"]

        # A point cloud of a million points takes minutes: Abort stops it and nothing is written.
        s = scroll_to(env, debug, app, "export", "kind")
        x, y, w, h = s["export"]["items"]["kind"][:4]
        click_item(env, [x + w * 0.55, y, 20, h])  # the second choice, "point cloud"
        s = wait_state(debug, app, lambda s: s["export"]["kind"] == "point cloud", 10, "the point cloud kind")
        s = scroll_to(env, debug, app, "export", "points")
        type_into(env, debug, app, s["export"]["items"]["points"], "1000000")
        s = scroll_to(env, debug, app, "export", "export")
        click_item(env, s["export"]["items"]["export"])
        wait_state(debug, app, lambda s: s["export"]["exporting"], 10, "the export to start")
        click_item(env, s["export"]["items"]["abort"])
        s = wait_state(debug, app, lambda s: s["export"]["exporting"] is None, 60, "the abort")
        assert s["export"]["info"] == "export of points-001.ply stopped: nothing written"
        assert not (tmp_path / "run" / "points-001.ply").exists() and not s["error"]
