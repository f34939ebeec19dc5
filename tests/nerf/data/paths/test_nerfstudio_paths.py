"""camera_path.json files made by nerfstudio's own code render as nerfstudio renders them.

tests/support/nerfstudio_paths/ holds paths exported by nerfstudio's viewer code itself (see its
README): keyframes with per-keyframe fov and transition overrides, loops, tensions 0, 0.5 and 0.8,
and perspective, fisheye and equirectangular cameras, each with the `camera_path[]` frames nerfstudio
computed. Those frames are rendered as given; with them removed, our splines must give them again.
"""
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from nerf.commands.render import main as render_main
from nerf.data.paths.keyframes import sample_path
from nerf.data.formats.registry import load_scene
from nerf.data.paths.path_files import path_from_dict, read_camera_path, read_dataparser_transforms
from nerf.data.generated.synthetic import write_synthetic_scene
from nerf.errors import InputError
from nerf.export.render_path import path_cameras
from nerf.train.config import TrainConfig
from nerf.train.trainer import Trainer
from tests.support.scenes import TINY

FIXTURES = Path(__file__).parents[3] / "support" / "nerfstudio_paths"
NAMES = ["loop_tension0", "open_tension05", "fisheye_two_keys", "equirect_loop"]


def _fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def _frames(data: dict) -> np.ndarray:
    return np.array([f["camera_to_world"] for f in data["camera_path"]], dtype=np.float64).reshape(-1, 4, 4)


@pytest.mark.parametrize("name", NAMES)
def test_frames_render_as_given(name):
    data = _fixture(name)
    path = read_camera_path(FIXTURES / f"{name}.json")
    poses, fovs = sample_path(path)
    assert np.array_equal(poses, _frames(data))
    np.testing.assert_allclose(fovs, [f["fov"] for f in data["camera_path"]])
    assert path.camera_type == data["camera_type"]
    assert path.fps == pytest.approx(len(data["camera_path"]) / data["seconds"])  # as ns-render times them
    cams = path_cameras(path)
    assert len(cams) == len(data["camera_path"]) and cams.camera_type == data["camera_type"]


@pytest.mark.parametrize("name", NAMES)
def test_keyframes_alone_give_nerfstudios_frames(name):
    """nerfstudio's Kochanek-Bartels splines, PCHIP timing, per-keyframe fov and transition overrides."""
    data = _fixture(name)
    path = replace(read_camera_path(FIXTURES / f"{name}.json"), frames=None)
    assert path.smoothness == data["smoothness_value"] and path.loop == data["is_cycle"]
    assert path.seconds == pytest.approx(data["seconds"])
    poses, fovs = sample_path(path)
    assert poses.shape == _frames(data).shape  # int(seconds x fps) frames
    np.testing.assert_allclose(poses, _frames(data), atol=1e-9)
    np.testing.assert_allclose(fovs, [f["fov"] for f in data["camera_path"]], atol=1e-9)


def test_unknown_camera_type_is_refused(tmp_path):
    data = {**_fixture("fisheye_two_keys"), "camera_type": "vr180"}
    with pytest.raises(InputError, match="camera_type 'vr180' is not one of perspective, fisheye, equirectangular"):
        path_from_dict(data, tmp_path / "p.json")


def _rotation(axis, angle):
    from nerf.data.cameras import axis_rotation
    m = np.eye(4)
    m[:3, :3] = axis_rotation(axis, angle)
    return m


def test_dataparser_transforms_take_a_path_back_to_the_scene_file(tmp_path):
    """nerfstudio: p_path = scale * (transform @ p_original); the scene file holds applied @ p_original."""
    transform = _rotation((0.3, -0.5, 1.0), 0.7)
    transform[:3, 3] = (0.4, -1.2, 2.0)
    applied = np.array([[1.0, 0, 0, 0], [0, 0, 1, 0], [0, -1, 0, 0], [0, 0, 0, 1]])  # nerf-process's
    (tmp_path / "transforms.json").write_text(json.dumps({"applied_transform": applied[:3].tolist(), "frames": []}))
    (tmp_path / "dataparser_transforms.json").write_text(json.dumps({"transform": transform[:3].tolist(),
                                                                       "scale": 0.25}))
    dp = read_dataparser_transforms(tmp_path / "dataparser_transforms.json", tmp_path)
    original = _rotation((1.0, 2.0, 0.5), 1.1)
    original[:3, 3] = (3.0, -1.0, 0.5)
    in_path = transform @ original
    in_path[:3, 3] *= 0.25
    np.testing.assert_allclose(dp.to_file(in_path), applied @ original, atol=1e-12)
    # through a whole file: every keyframe and frame mapped, the rotation kept a rotation
    data = _fixture("open_tension05")
    path = path_from_dict(data, tmp_path / "p.json", dataparser=dp)
    np.testing.assert_allclose(path.frames.poses[3], dp.to_file(_frames(data)[3]), atol=1e-12)
    r = path.keyframes[0].c2w[:3, :3]
    np.testing.assert_allclose(r.T @ r, np.eye(3), atol=1e-9)


@pytest.mark.parametrize("content, problem", [
    ({"transform": [[1, 0, 0, 0]] * 3}, "needs 'transform' and 'scale'"),
    ({"transform": [[1, 0, 0]], "scale": 1.0}, "not a finite 3x4 matrix"),
    ({"transform": np.eye(4)[:3].tolist(), "scale": 0}, "must be positive"),
    ({"transform": [[0] * 4] * 3, "scale": 1.0}, "singular"),
])
def test_bad_dataparser_transforms_are_refused(tmp_path, content, problem):
    file = tmp_path / "dataparser_transforms.json"
    file.write_text(json.dumps(content))
    with pytest.raises(InputError, match=problem):
        read_dataparser_transforms(file)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("scene")
    write_synthetic_scene(root, n_train=6, n_test=1, size=16)
    # untrained: these tests count frames and compare projections, so any field with structure will do
    Trainer(load_scene(root), TrainConfig.tuned("ngp", "cpu", **TINY)).save(root / "checkpoint.pt")
    return root / "checkpoint.pt"


def _render(ckpt, path_file, out, *extra):
    return render_main([str(ckpt), "--camera-path", str(path_file), "--out", str(out), "--device", "cpu",
                        "--resolution", "16x12", *extra])


def test_nerf_render_renders_nerfstudios_files(trained, tmp_path):
    """Each frame of the file, once; a fisheye or equirectangular file does not render as perspective."""
    for name in ("fisheye_two_keys", "equirect_loop"):
        assert _render(trained, FIXTURES / f"{name}.json", tmp_path / name) == 0
        assert len(list((tmp_path / name).glob("*.png"))) == len(_fixture(name)["camera_path"])
    as_perspective = tmp_path / "perspective.json"
    as_perspective.write_text(json.dumps({**_fixture("fisheye_two_keys"), "camera_type": "perspective"}))
    assert _render(trained, as_perspective, tmp_path / "perspective") == 0

    def image(folder):
        return np.asarray(Image.open(sorted((tmp_path / folder).glob("*.png"))[0]), dtype=np.float64)
    assert np.abs(image("fisheye_two_keys") - image("perspective")).mean() > 1.0


def test_nerf_render_refuses_dataparser_transforms_without_a_path(trained, tmp_path, capsys):
    code = render_main([str(trained), "--dataset", "test", "--dataparser-transforms", "x.json",
                        "--out", str(tmp_path / "o"), "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 2 and "--dataparser-transforms: only with --camera-path" in err


BAD_FILES = {  # issue 28's camera_path.json inputs: each one line naming the file, before any frame exists
    "fps zero": ({"fps": 0, "camera_path": []}, "fps is 0"),
    "fps huge": ({"fps": 1e308, "camera_path": []}, "frames"),
    "keyframes a number": ({"keyframes": 5}, "'keyframes' must be a list"),
    "width 1e12": ({"render_width": 1e12}, "render size"),
    "1e10 frames": ({"seconds": 1e10, "default_transition_sec": 1e10 / 3, "camera_path": []}, "at most"),
    "frames a dict": ({"camera_path": {"a": 1}}, "'camera_path' must be a list"),
    "fov a string": ({"default_fov": "wide", "camera_path": []}, "'default_fov' must be a number"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_values_are_one_line_each(tmp_path, case, trained, capsys):
    change, problem = BAD_FILES[case]
    file = tmp_path / "camera_path.json"
    file.write_text(json.dumps({**_fixture("open_tension05"), **change}))
    with pytest.raises(InputError, match=problem) as e:
        read_camera_path(file)
    assert str(e.value).startswith(str(file)) and "\n" not in str(e.value)
    if case in ("fps huge", "1e10 frames"):  # through the command too: exit 2, one line, nothing allocated
        assert _render(trained, file, tmp_path / "out") == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and str(file) in err and problem in err


@pytest.mark.parametrize("raw, problem", [
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    (b'{"fps": ' + b"9" * 5000 + b"}", "invalid JSON"),
    (json.dumps({"fps": 30}).encode("utf-16"), "UTF-16"),
    (b'{"fps": 30, "note": "caf\xe9"}', "not UTF-8"),
], ids=["deep nesting", "5000 digits", "utf-16", "latin-1"])
def test_unreadable_files_are_one_line_each(tmp_path, raw, problem):
    file = tmp_path / "camera_path.json"
    file.write_bytes(raw)
    with pytest.raises(InputError, match=problem) as e:
        read_camera_path(file)
    assert str(e.value).startswith(str(file))


def test_fuzzed_camera_paths_load_or_are_refused_in_one_line(tmp_path):
    """Several hundred mutations of a nerfstudio file: a path that renders (finite poses, a sane frame
    count and size) or InputError naming the file; nothing else."""
    from tests.nerf.test_fuzz import json_mutations
    data = _fixture("open_tension05")
    data["camera_path"] = data["camera_path"][:6]  # mutations reach the frames without thousands of places
    cases = json_mutations(json.dumps(data), np.random.default_rng(29), 400)
    file = tmp_path / "camera_path.json"
    failures, refused = [], 0
    for what, raw in cases:
        file.write_bytes(raw)
        try:
            path = read_camera_path(file)
        except InputError as e:
            refused += 1
            if not str(e).startswith(str(file)) or "\n" in str(e):
                failures.append(f"{what}: {e}")
            continue
        except Exception as e:  # noqa: BLE001 - the point of the test
            failures.append(f"{what}: {type(e).__name__}: {e}"[:200])
            continue
        poses, fovs = sample_path(path)
        if not (np.isfinite(poses).all() and np.isfinite(fovs).all() and len(poses) <= 10_000):
            failures.append(f"{what}: {len(poses)} frames, finite {np.isfinite(poses).all()}")
        cams = path_cameras(path, 4, 3)
        if not torch.isfinite(cams.c2w).all():
            failures.append(f"{what}: cameras not finite")
    assert not failures, "\n".join(failures[:20])
    assert len(cases) >= 400 and 50 < refused < len(cases)  # the corpus both breaks and keeps files
