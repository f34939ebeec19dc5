"""nerf-process end to end on a rendered capture (folder and video), its failures, and its output."""
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from nerf.colmap_lib import pycolmap as load_pycolmap
from nerf.commands.process import main
from nerf.data.formats.registry import load_scene
from tests.support.captures import centre_errors, render_capture, write_folder, write_video

N_FRAMES = 24
MAX_ERROR = 0.02  # of the scene's size: the diagonal of the true cameras' bounding box


@pytest.fixture(scope="module")
def capture(tmp_path_factory):
    """(photo folder, video, true camera-to-world [N, 4, 4]); rendered once for the module."""
    root = tmp_path_factory.mktemp("capture")
    frames, poses = render_capture(N_FRAMES)
    folder = write_folder(frames, root / "photos")
    video = write_video(frames, root / "walk.mp4", repeat=3)  # 72 frames, 3 per view
    return folder, video, poses


@pytest.fixture(scope="module")
def processed_folder(capture, tmp_path_factory):
    out = tmp_path_factory.mktemp("processed") / "scene"
    assert main([str(capture[0]), str(out)]) == 0
    return out


def _centre_error(out, poses, index_of):
    meta = json.loads((out / "transforms.json").read_text())
    index = [index_of(f["file_path"]) for f in meta["frames"]]
    recovered = np.array([f["transform_matrix"] for f in meta["frames"]])[:, :3, 3]
    truth = poses[index, :3, 3]
    size = np.linalg.norm(truth.max(0) - truth.min(0))
    return len(index), centre_errors(recovered, truth).max() / size


def test_photo_folder_poses_every_frame(capture, processed_folder):
    n, error = _centre_error(processed_folder, capture[2], lambda p: int(p.split("_")[-1][:3]))
    assert n == N_FRAMES
    assert error < MAX_ERROR


def test_video_poses_every_picked_frame(capture, tmp_path, capsys):
    out = tmp_path / "scene"
    assert main([str(capture[1]), str(out), "--frames", str(N_FRAMES)]) == 0
    # 72 frames in 24 stretches of 3 identical ones: frame_00001 is view 0, frame_00024 view 23
    n, error = _centre_error(out, capture[2], lambda p: int(p[-9:-4]) - 1)
    assert n == N_FRAMES
    assert error < MAX_ERROR
    printed = capsys.readouterr()
    for stage in ("frames", "features", "matching", "mapping"):
        assert f"\n{stage} " in "\n" + printed.err
    assert f"posed {N_FRAMES} of {N_FRAMES} frames" in printed.out
    assert f"nerf-train {out}" in printed.out
    assert f"cameras: {out / 'preview.png'}" in printed.out


def test_output_layout(processed_folder):
    meta = json.loads((processed_folder / "transforms.json").read_text())
    for key in ("fl_x", "fl_y", "cx", "cy", "w", "h", "k1", "k2", "p1", "p2"):
        assert isinstance(meta[key], (int, float)), key
    assert (meta["w"], meta["h"]) == (128, 128)
    assert all(isinstance(f["colmap_im_id"], int) for f in meta["frames"])
    for k in (2, 4, 8):
        with Image.open(processed_folder / f"images_{k}" / "view_000.png") as img:
            assert img.size == (128 // k, 128 // k)
    header = (processed_folder / "sparse_pc.ply").read_bytes()[:400].decode("ascii", "ignore")
    assert "property uchar red" in header
    n_points = int(header.split("element vertex ")[1].split()[0])
    assert n_points > 100
    assert {p.name.split(".")[0] for p in (processed_folder / "colmap/sparse/0").iterdir()} >= {
        "cameras", "images", "points3D"}
    scene = load_scene(processed_folder)
    assert sum(len(s) for s in scene.splits.values()) == N_FRAMES
    with Image.open(processed_folder / "preview.png") as img:  # the cameras from above and the side
        assert img.size == (1100, 500)
    assert scene.splits["train"].cameras.distortion is not None


@pytest.fixture(scope="module")
def colmap_scenes(processed_folder, tmp_path_factory):
    """The processed model as COLMAP scene folders: binary and text."""
    rec = load_pycolmap().Reconstruction(str(processed_folder / "colmap/sparse/0"))
    roots = {}
    for form in ("bin", "txt"):
        root = tmp_path_factory.mktemp(form)
        (root / "images").symlink_to(processed_folder / "images")
        (root / "sparse/0").mkdir(parents=True)
        (rec.write_binary if form == "bin" else rec.write_text)(str(root / "sparse/0"))
        roots[form] = root
    return roots


def test_colmap_model_loads_in_binary_and_text_form(colmap_scenes, processed_folder):
    scenes = {form: load_scene(root) for form, root in colmap_scenes.items()}
    assert {s.format for s in scenes.values()} == {"colmap"}
    a, b = (scenes[f].splits["train"].cameras for f in ("bin", "txt"))
    assert len(a) == len(b) == N_FRAMES - 3  # every 8th view is held out
    assert np.allclose(a.c2w, b.c2w, atol=1e-5)
    # the same cameras as transforms.json, up to nerfstudio's world rotation
    ns = load_scene(processed_folder).splits["train"].cameras

    def dist(c):
        return np.linalg.norm(c.c2w[:, None, :3, 3] - c.c2w[None, :, :3, 3], axis=-1)
    assert np.allclose(dist(a), dist(ns), atol=1e-4)
    assert np.allclose(a.fx, ns.fx)


def test_unreadable_colmap_model(tmp_path):
    from nerf.errors import InputError
    (tmp_path / "images").mkdir()
    (tmp_path / "sparse/0").mkdir(parents=True)
    (tmp_path / "sparse/0/cameras.txt").write_text("1 FISHEYE garbage\n")
    with pytest.raises(InputError, match="COLMAP model"):
        load_scene(tmp_path)


def _fails(capsys, args, tmp_path, expect):
    before = set(tmp_path.iterdir())
    assert main([str(a) for a in args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("nerf-process: error: ") and expect in err[-1], err
    assert set(tmp_path.iterdir()) == before  # nothing half-written, not even a hidden folder


def _pngs(folder, sizes):
    folder.mkdir()
    for i, (w, h) in enumerate(sizes):
        rng = np.random.default_rng(i)
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    return folder


def test_unreadable_and_empty_videos(tmp_path, capsys):
    (tmp_path / "empty.mp4").write_bytes(b"")
    (tmp_path / "bad.mov").write_bytes(np.random.default_rng(0).bytes(4000))
    _fails(capsys, [tmp_path / "empty.mp4", tmp_path / "out"], tmp_path, "empty")
    _fails(capsys, [tmp_path / "bad.mov", tmp_path / "out"], tmp_path, "cannot read video")
    (tmp_path / "notes.txt").write_text("x")
    _fails(capsys, [tmp_path / "notes.txt", tmp_path / "out"], tmp_path, "not a video")


def test_too_few_and_mixed_photos(tmp_path, capsys):
    _fails(capsys, [_pngs(tmp_path / "two", [(32, 24)] * 2), tmp_path / "out"], tmp_path, "need at least 3")
    mixed = _pngs(tmp_path / "mixed", [(32, 24), (32, 24), (24, 32)])
    _fails(capsys, [mixed, tmp_path / "out"], tmp_path, "is 24x32 but 0.png is 32x24")


def test_unposeable_photos_say_how_many(tmp_path, capsys):
    noise = _pngs(tmp_path / "noise", [(64, 64)] * 6)
    _fails(capsys, [noise, tmp_path / "out"], tmp_path, "posed only 0 of 6 frames; try more overlap")


def test_existing_out_is_kept_without_overwrite(capture, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    _fails(capsys, [capture[0], out], tmp_path, "--overwrite")
    assert (out / "keep.txt").read_text() == "mine"


def test_command_line_exit_status(tmp_path):
    run = subprocess.run([sys.executable, "-m", "nerf.commands.process", str(tmp_path / "missing"),
                          str(tmp_path / "out")], capture_output=True, text=True)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [f"nerf-process: error: {tmp_path / 'missing'}: "
                                               "no such file or folder"]
