"""nerf/data/paths/path_files.py: camera_path.json round trip, a nerfstudio-layout file, bad files."""
import json

import numpy as np
import pytest

from nerf.data.paths.keyframes import CameraPath, Keyframe
from nerf.data.crop import CropBox
from nerf.data.paths.path_files import read_camera_path, write_camera_path
from nerf.errors import InputError


def _path():
    rng = np.random.default_rng(0)
    keys = []
    for i in range(3):
        c2w = np.eye(4)
        q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
        c2w[:3, :3] = q * np.sign(np.linalg.det(q))
        c2w[:3, 3] = rng.normal(size=3)
        keys.append(Keyframe(c2w=c2w, fov=40.0 + i, duration=1.0 + i))
    return CameraPath(tuple(keys), loop=True, smoothness=0.3, fps=12, width=64, height=48,
                      crop=CropBox((-0.5, -0.4, -0.3), (0.5, 0.6, 0.2)))


def test_round_trip_in_file_coordinates(tmp_path):
    path = _path()
    file = write_camera_path(tmp_path / "camera_path.json", path, scale=2.0, offset=(1.0, 2.0, 3.0))
    data = json.loads(file.read_text())
    assert data["camera_type"] == "perspective" and data["is_cycle"] is True
    assert data["seconds"] == pytest.approx(6.0) and len(data["camera_path"]) == 72
    # nerfstudio's meaning: each keyframe's override is the transition arriving at it (keyframe 0's closes the loop)
    assert [k["override_transition_sec"] for k in data["keyframes"]] == [3.0, 1.0, 2.0]
    assert data["render_width"] == 64 and data["camera_path"][0]["aspect"] == pytest.approx(64 / 48)
    # positions are in the file's coordinates: p * scale + offset, row by row
    m = np.asarray(data["keyframes"][1]["matrix"]).reshape(4, 4)
    np.testing.assert_allclose(m[:3, 3], path.keyframes[1].c2w[:3, 3] * 2.0 + [1.0, 2.0, 3.0])
    np.testing.assert_allclose(data["crop"]["crop_center"], [1.0, 2.2, 2.9])
    back = read_camera_path(file, scale=2.0, offset=(1.0, 2.0, 3.0))
    assert (back.loop, back.smoothness, back.fps, back.width, back.height) == (True, 0.3, 12, 64, 48)
    assert back.frames is not None and len(back.frames.poses) == 72  # its own frames, rendered as given
    for a, b in zip(back.keyframes, path.keyframes, strict=True):
        np.testing.assert_allclose(a.c2w, b.c2w, atol=1e-12)
        assert (a.fov, a.duration) == (b.fov, b.duration)
    np.testing.assert_allclose(back.crop.lo, path.crop.lo)
    np.testing.assert_allclose(back.crop.hi, path.crop.hi)


# written by hand in the layout of nerfstudio's viewer export (render_panel.py)
NERFSTUDIO_FILE = {
    "default_fov": 75.0, "default_transition_sec": 2.0,
    "keyframes": [
        {"matrix": [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 0, 0, 0, 1], "fov": 75.0, "aspect": 1.7777,
         "override_transition_enabled": False, "override_transition_sec": None},
        {"matrix": [0, 0, 1, 3, 0, 1, 0, 0, -1, 0, 0, 0, 0, 0, 0, 1], "fov": 60.0, "aspect": 1.7777,
         "override_transition_enabled": True, "override_transition_sec": 3.0},
        {"matrix": [-1, 0, 0, 0, 0, 1, 0, 0, 0, 0, -1, -3, 0, 0, 0, 1], "fov": 75.0, "aspect": 1.7777,
         "override_transition_enabled": False, "override_transition_sec": None},
    ],
    "camera_type": "perspective", "render_height": 1080, "render_width": 1920,
    "camera_path": [{"camera_to_world": [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 0, 0, 0, 1], "fov": 75.0,
                     "aspect": 1.7777}],
    "fps": 24, "seconds": 5.0, "is_cycle": False, "smoothness_value": 0.5,
    "crop": {"crop_bg_color": {"r": 0, "g": 0, "b": 0}, "crop_center": [0, 0, 0], "crop_scale": [2, 2, 2],
             "crop_rot": [0, 0, 0]},
}


def test_nerfstudio_file_loads(tmp_path):
    file = tmp_path / "camera_path.json"
    file.write_text(json.dumps(NERFSTUDIO_FILE))
    path = read_camera_path(file)
    assert [k.fov for k in path.keyframes] == [75.0, 60.0, 75.0]
    # keyframe 1's override is the transition arriving at it: ours counts from keyframe 0 to the next
    assert [k.duration for k in path.keyframes] == [3.0, 2.0, 2.0]
    np.testing.assert_allclose(path.keyframes[1].c2w[:3, 3], [3, 0, 0])
    assert (path.width, path.height, path.loop) == (1920, 1080, False)
    assert path.crop == CropBox((-1.0, -1.0, -1.0), (1.0, 1.0, 1.0))
    # its one camera_path frame is what ns-render renders, over `seconds` (fps = frames / seconds)
    assert path.frame_count() == 1 and path.fps == pytest.approx(1 / 5.0)


def test_legacy_column_major_string_matrix(tmp_path):
    legacy = {"keyframes": [{"matrix": json.dumps([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 4, 5, 6, 1]), "fov": 50}],
              "fps": 24, "seconds": 1}
    (tmp_path / "p.json").write_text(json.dumps(legacy))
    np.testing.assert_allclose(read_camera_path(tmp_path / "p.json").keyframes[0].c2w[:3, 3], [4, 5, 6])


@pytest.mark.parametrize("data, problem", [
    ({"keyframes": [], "camera_path": []}, "empty"),
    ({"keyframes": [{"matrix": [float("nan")] * 16}]}, "not finite"),
    ({"keyframes": [{"matrix": [1, 2, 3]}]}, "3 numbers"),
    ([1, 2], "JSON object"),
])
def test_bad_files_raise_input_error(tmp_path, data, problem):
    file = tmp_path / "bad.json"
    file.write_text(json.dumps(data))
    with pytest.raises(InputError, match=problem) as e:
        read_camera_path(file)
    assert str(file) in str(e.value)


def test_unwritable_output_leaves_nothing(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(InputError):
        write_camera_path(blocker / "camera_path.json", _path())
    assert blocker.read_text() == "x"
