"""nerf-render and nerf-export through their entry points, on a briefly trained default scene."""
import json

import imageio.v2 as imageio
import numpy as np
import pytest
import trimesh

from nerf.commands.export import main as export_main
from nerf.commands.render import main as render_main
from nerf.data.paths.keyframes import CameraPath, Keyframe
from nerf.data.cameras import look_at
from nerf.data.crop import CropBox
from nerf.data.formats.pointcloud import read_ply_points
from nerf.data.formats.registry import load_scene
from nerf.data.paths.path_files import write_camera_path
from nerf.data.generated.synthetic import write_synthetic_scene
from nerf.models.registry import build_model
from nerf.runtime.progress import Progress
from nerf.train.config import TrainConfig
from nerf.train.metrics import psnr
from nerf.train.trainer import Trainer
from tests.support.analytic import signed_distance
from tests.support.scenes import TINY

import torch


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("scene")
    write_synthetic_scene(root, n_train=8, n_test=2, size=24)
    scene = load_scene(root)
    trainer = Trainer(scene, TrainConfig.tuned("ngp", "cpu", **TINY))
    for _ in range(40):
        trainer.step()
    ckpt = root / "checkpoint.pt"
    trainer.save(ckpt)
    return ckpt, scene


def _path_file(tmp_path, scene, n=3):
    keys = []
    for i in range(n):
        a = 2 * np.pi * i / n
        eye = (4.0 * np.cos(a), 4.0 * np.sin(a), 2.0)  # file units: the scene's cameras are at radius 4
        c2w = look_at(eye, (0.0, 0.0, 0.0)).double().numpy()
        keys.append(Keyframe(c2w=c2w, fov=40.0, duration=0.25))
    file = tmp_path / "camera_path.json"
    write_camera_path(file, CameraPath(tuple(keys), loop=True, fps=8, width=20, height=16))
    return file


def test_dataset_frame_matches_the_training_image(trained, tmp_path):
    ckpt, scene = trained
    out = tmp_path / "frames"
    assert render_main([str(ckpt), "--dataset", "train", "--with-gt", "--out", str(out), "--device", "cpu"]) == 0
    files = sorted(out.glob("*.png"))
    assert len(files) == 8
    frame = torch.as_tensor(imageio.imread(files[0])).float() / 255.0  # [H, 2W, 3]: render | truth
    pred, truth = frame[:, :24], frame[:, 24:]
    views = scene.split("train").rgb(1.0)
    expected = views[0]
    assert psnr(truth, expected) > 40  # the right half is the ground truth
    # after 40 steps the left half is well above a blank frame, and closer to its own view than to any other
    assert psnr(pred, expected) > psnr(torch.ones_like(expected), expected) + 3
    assert psnr(pred, expected) > max(psnr(pred, other) for other in views[1:]) + 1


def test_camera_path_video_and_depth_frames(trained, tmp_path):
    ckpt, scene = trained
    path = _path_file(tmp_path, scene)
    video = tmp_path / "path.mp4"
    assert render_main([str(ckpt), "--camera-path", str(path), "--out", str(video), "--device", "cpu"]) == 0
    got = imageio.mimread(video)
    assert len(got) == 6 and got[0].shape == (16, 20, 3)  # 3 x 0.25 s at 8 fps, the path's size
    depth = tmp_path / "depth"
    assert render_main([str(ckpt), "--orbit", "4,1,0.5", "--fps", "4", "--resolution", "12x10", "--output", "depth",
                        "--out", str(depth), "--device", "cpu"]) == 0
    images = [imageio.imread(f) for f in sorted(depth.glob("*.png"))]
    assert len(images) == 2 and images[0].shape == (10, 12, 3) and images[0].std() > 0


def test_ctrl_c_keeps_the_frames_so_far(trained, tmp_path, monkeypatch):
    ckpt, scene = trained
    real = Progress.show

    def interrupt_after_two(self, text, force=False):  # as if Ctrl-C came during the third frame
        real(self, text, force)
        if " 2/6 " in text:
            raise KeyboardInterrupt
    monkeypatch.setattr(Progress, "show", interrupt_after_two)
    video = tmp_path / "cut.mp4"
    assert render_main([str(ckpt), "--camera-path", str(_path_file(tmp_path, scene)), "--out", str(video),
                        "--device", "cpu"]) == 130
    assert len(imageio.mimread(video)) == 2
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left


def test_bad_inputs_one_line_exit_2_nothing_written(trained, tmp_path, capsys):
    ckpt, scene = trained
    junk = tmp_path / "junk.pt"
    junk.write_text("not a checkpoint")
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"keyframes": [], "camera_path": []}))
    nan = _path_file(tmp_path / "nan", scene)
    data = json.loads(nan.read_text())
    data["keyframes"][1]["matrix"][3] = float("nan")
    nan.write_text(json.dumps(data))
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    cases = [
        (render_main, [str(junk), "--dataset", "test", "--out", str(tmp_path / "a.mp4")], "junk.pt"),
        (render_main, [str(ckpt), "--camera-path", str(empty), "--out", str(tmp_path / "b.mp4")], "empty"),
        (render_main, [str(ckpt), "--camera-path", str(nan), "--out", str(tmp_path / "c.mp4")], "NaN"),
        (render_main, [str(ckpt), "--dataset", "test", "--out", str(blocker / "d.mp4")], "cannot write"),
        (export_main, ["mesh", str(junk), "--out", str(tmp_path / "e.ply")], "junk.pt"),
        (export_main, ["mesh", str(ckpt), "--out", str(blocker / "f.ply")], "cannot write"),
    ]
    for main, argv, words in cases:
        assert main([*argv, "--device", "cpu"]) == 2, argv
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and ": error: " in err and words in err, err
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == ["blocker", "empty.json", "junk.pt", "nan"]


def test_export_mesh_and_points_in_file_coordinates(trained, tmp_path, capsys):
    ckpt, scene = trained
    mesh_args = ["mesh", str(ckpt), "--out", str(tmp_path / "m.ply"), "--resolution", "48", "--device", "cpu"]
    # 40 steps leave every density far below the default surface: said so, with the default, and no file
    assert export_main(mesh_args) == 2
    err = capsys.readouterr().err
    assert "threshold 10 (the default" in err and "try a lower --threshold" in err
    assert not (tmp_path / "m.ply").exists()
    assert export_main([*mesh_args, "--threshold", "0.9"]) == 0
    mesh = trimesh.load(tmp_path / "m.ply", force="mesh", process=False)
    v = np.asarray(mesh.vertices, np.float64)
    assert len(mesh.faces) > 100
    # 40 steps at 24 px: near the true surfaces (file units), if not yet within 2 %
    assert np.median(np.abs(signed_distance(v)[0])) < 0.15
    assert export_main(["pointcloud", str(ckpt), "--out", str(tmp_path / "p.ply"), "--points", "2000",
                        "--device", "cpu"]) == 0
    p = read_ply_points(tmp_path / "p.ply")
    assert 500 < len(p) <= 2000 and np.median(np.abs(signed_distance(p)[0])) < 0.1


def test_crop_box_hides_what_lies_outside(trained, tmp_path):
    ckpt, scene = trained
    common = [str(ckpt), "--dataset", "test", "--output", "opacity", "--device", "cpu"]
    assert render_main([*common, "--out", str(tmp_path / "all")]) == 0
    assert render_main([*common, "--crop", "0.8,0.8,0.8,1,1,1", "--out", str(tmp_path / "corner")]) == 0
    full = imageio.imread(tmp_path / "all" / "00000.png")
    corner = imageio.imread(tmp_path / "corner" / "00000.png")
    assert full.mean() > 20 and corner.mean() < 2  # the empty corner of the cube shows nothing


@pytest.mark.parametrize("model", ["ngp", "nerf"])
def test_models_render_nothing_outside_the_crop(scene_small, model):
    cfg = TrainConfig.tuned(model, "cpu", **({"model": {"width": 32, "depth": 2}} if model == "nerf" else TINY))
    net = build_model(scene_small, cfg.model, "cpu")
    o = torch.tensor([[0.0, -3.0, 0.0], [0.0, -3.0, 0.5]])
    d = torch.tensor([[0.0, 1.0, 0.0], [0.0, 1.0, 0.0]])
    crop = CropBox((-1.0, -1.0, -1.0), (1.0, 1.0, 0.25))  # the second ray passes above it
    with torch.no_grad():
        out = net.render_rays(o, d, torch.zeros(3), stratified=False, generator=None, crop=crop)
        free = net.render_rays(o, d, torch.zeros(3), stratified=False, generator=None)
    assert out.opacity[1] == 0 and free.opacity[1] > 0  # an untrained field is a little opaque everywhere
    assert out.opacity[0] > 0


@pytest.fixture(scope="module")
def scene_small(trained):
    return trained[1]
