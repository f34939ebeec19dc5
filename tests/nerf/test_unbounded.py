"""The ngp model over contracted space on a tiny generated outdoor capture: it learns what a bounded
model cannot (ground to the horizon, far landmarks, sky), renders from anywhere, resumes, and its
turntable circles at the cameras' distance and height."""
import json
import math
from dataclasses import replace

import pytest
import torch

from nerf.commands.train import main as train_main
from nerf.data.formats.registry import load_scene
from nerf.data.generated.unbounded import write_unbounded_scene
from nerf.data.paths.turntable import turntable_poses
from nerf.data.crop import CropBox
from nerf.train.trainer import Trainer, TrainConfig
from nerf.volume.contraction import contract
from nerf.data.cameras import look_at
from tests.support.scenes import png, tiny, transforms_scene

# fewer, coarser steps than TINY's: every cell is occupied for the first updates, and every ray of
# an unbounded scene runs to the far cap
FAST = tiny(dict(march_steps=48, cone_angle=1 / 12), batch_rays=192)
STEPS = 80


@pytest.fixture(scope="module")
def outdoor(tmp_path_factory):
    root = write_unbounded_scene(tmp_path_factory.mktemp("outdoor"), n_frames=16, width=32, height=24,
                                 supersample=2)
    return root


def _train(scene) -> tuple[Trainer, float]:
    torch.manual_seed(0)
    trainer = Trainer(scene, TrainConfig.tuned("ngp", "cpu", **FAST))
    for _ in range(STEPS):
        trainer.step()
    return trainer, trainer.evaluate("test").psnr


def test_generated_capture_is_an_unbounded_rgb_scene(outdoor):
    meta = (outdoor / "transforms.json").read_text()
    assert "aabb_scale" not in meta and '"fl_x"' in meta
    scene = load_scene(outdoor)
    assert scene.scene_type == "unbounded" and not scene.split("train").has_alpha
    assert len(scene.split("test")) == 2  # frames 0 and 8 held out


def test_unbounded_model_beats_the_bounded_one_on_it(outdoor):
    unbounded, psnr_u = _train(load_scene(outdoor))
    _, psnr_b = _train(load_scene(outdoor, scene_type="bounded"))
    print(f"unbounded {psnr_u:.2f} dB, bounded {psnr_b:.2f} dB")
    assert psnr_u > psnr_b + 2.0, (psnr_u, psnr_b)
    # seen from far outside the region nothing is clipped: the view is the scene, not a background
    cams = unbounded.scene.split("test").cameras
    far_away = cams.c2w.clone()
    far_away[:, :3, 3] *= 3.0
    out = unbounded.render(replace(cams, c2w=far_away), 0)
    assert out.opacity.mean() > 0.9


def test_turntable_circles_at_the_cameras_distance_and_height(outdoor):
    scene = load_scene(outdoor)
    pos = scene.split("train").cameras.c2w[:, :3, 3]
    poses = turntable_poses(scene, 12)
    radius = poses[:, :3, 3].norm(dim=-1)
    assert radius.mean() == pytest.approx(float(pos.norm(dim=-1).mean()), rel=0.05)
    assert poses[:, 2, 3].mean() == pytest.approx(float(pos[:, 2].mean()), rel=0.05)


def test_density_and_crop_take_world_points(outdoor):
    trainer = Trainer(load_scene(outdoor), TrainConfig.tuned("ngp", "cpu", **FAST))
    model, bound = trainer.model, trainer.scene.bound
    world = torch.tensor([[0.1, 0.2, -0.3], [3.0 * bound, 0.0, 0.0], [0.0, -40.0 * bound, 2.0]])
    torch.testing.assert_close(model.density(world), model.field.density(contract(world, bound)))
    cams = trainer.scene.split("test").cameras
    tiny = trainer.render(cams, 0, crop=CropBox.cube(0.01 * bound))  # crops in world units, not contracted
    assert tiny.opacity.mean() < 0.05 < trainer.render(cams, 0).opacity.mean()


def test_unbounded_scenes_train_with_their_own_cpu_defaults(outdoor, tmp_path):
    bounded, unbounded = (TrainConfig.tuned("ngp", "cpu", kind) for kind in ("bounded", "unbounded"))
    assert unbounded.batch_rays < bounded.batch_rays and unbounded.model.early_stop > bounded.model.early_stop
    assert TrainConfig.tuned("ngp", "cpu", "forward") == bounded
    # nerf-train asks for the scene's own: its metrics.json records the config it trained with
    assert train_main([str(outdoor), "--steps", "1", "--eval-views", "1", "--video-frames", "0",
                       "--out", str(tmp_path / "run")]) == 0
    config = json.loads((tmp_path / "run" / "metrics.json").read_text())["config"]
    assert (config["batch_rays"], config["model"]["early_stop"]) == (unbounded.batch_rays, unbounded.model.early_stop)


def _frontal_scene(root, n=8):
    """A handheld frontal capture: cameras side by side, all looking at one wall (as the fox's)."""
    frames = []
    for i in range(n):
        eye = (0.6 * (i % 4) - 0.9, -5.0, 0.4 * (i // 4))
        png(root / "images" / f"{i:04d}.png", mode="RGB", seed=i)
        frames.append({"file_path": f"images/{i:04d}.png",
                       "transform_matrix": look_at(eye, (0.3 * (i % 4), 0.0, 0.3), (0.0, 0.0, 1.0)).tolist()})
    (root / "transforms.json").write_text(json.dumps({"fl_x": 7.0, "fl_y": 7.0, "cx": 4.0, "cy": 3.0, "w": 8,
                                                      "h": 6, "frames": frames}))
    return root


def test_captures_whose_cameras_face_one_way_keep_the_distortion_loss(outdoor, tmp_path):
    # the scene suite: off (with a learned sky) helps every capture that looks around or out of a
    # space, but cost the fox, whose cameras all face one way, 0.4 dB at 5 minutes
    frontal = load_scene(_frontal_scene(tmp_path / "frontal"))
    assert frontal.scene_type == "unbounded" and frontal.faces_one_way
    assert not load_scene(outdoor).faces_one_way  # cameras around the objects
    assert not load_scene(transforms_scene(tmp_path / "ring")).faces_one_way  # a ring looking down 37 degrees
    around, facing = (TrainConfig.tuned("ngp", "cpu", "unbounded", frontal=f).model for f in (False, True))
    assert (around.distortion, around.sky) == (0.0, True) and (facing.distortion, facing.sky) == (0.01, False)
    assert TrainConfig.tuned("ngp", "cpu", "bounded", frontal=True) == TrainConfig.tuned("ngp", "cpu", "bounded")
    assert TrainConfig.tuned("ngp", "cuda", "unbounded", frontal=True) == TrainConfig.tuned("ngp", "cuda", "unbounded")
    assert TrainConfig.tuned("nerf", "cpu", "unbounded", frontal=True) == TrainConfig.tuned("nerf", "cpu", "unbounded")
    # nerf-train picks it from the scene's cameras; --distortion still decides when given
    for extra, weight in (([], 0.01), (["--distortion", "0"], 0.0)):
        out = tmp_path / f"run{len(extra)}"
        assert train_main([str(frontal.root), "--steps", "1", "--eval-views", "1", "--video-frames", "0",
                           "--out", str(out), *extra]) == 0
        assert json.loads((out / "metrics.json").read_text())["config"]["model"]["distortion"] == weight


def test_the_distortion_loss_trains_unbounded_scenes_only(outdoor):
    """The distortion weight adds the weighted loss to a training step of an unbounded scene, with gradients
    into the field; rendering and bounded scenes get none."""
    scene = load_scene(outdoor)
    config = TrainConfig.tuned("ngp", "cpu", **{**FAST, "model": {**FAST["model"], "distortion": 0.01}})
    trainer = Trainer(scene, config)
    rays_o, rays_d, _, bg = trainer.sample_batch(64)
    out = trainer.model.render_rays(rays_o, rays_d, bg, stratified=True, generator=None)
    assert torch.is_tensor(out.regularizer) and float(out.regularizer.detach()) > 0
    out.regularizer.backward()
    assert trainer.model.field.grid.table.grad.abs().sum() > 0
    with torch.no_grad():
        assert trainer.model.render_rays(rays_o, rays_d, bg, stratified=False, generator=None).regularizer == 0
    bounded = Trainer(load_scene(outdoor, scene_type="bounded"),
                      TrainConfig.tuned("ngp", "cpu", **{**FAST, "model": {**FAST["model"], "distortion": 0.01}}))
    assert bounded.model.render_rays(rays_o, rays_d, bg, stratified=True, generator=None).regularizer == 0


def test_distortion_flag_sets_the_weight_and_is_checked(outdoor, tmp_path, capsys):
    assert TrainConfig.tuned("ngp", "cpu", "unbounded").model.distortion == 0  # off by default (issue 24)
    assert train_main([str(outdoor), "--steps", "1", "--eval-views", "1", "--video-frames", "0",
                       "--distortion", "0.02", "--out", str(tmp_path / "on")]) == 0
    assert json.loads((tmp_path / "on" / "metrics.json").read_text())["config"]["model"]["distortion"] == 0.02
    with pytest.raises(SystemExit) as exc:  # argparse refuses it before anything loads
        train_main([str(outdoor), "--steps", "1", "--distortion", "-1", "--out", str(tmp_path / "bad")])
    assert exc.value.code == 2 and "--distortion: must be >= 0" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()
    # a resume continues its run's loss: another weight is refused in one line
    assert train_main(["--resume", str(tmp_path / "on" / "checkpoint.pt"), "--steps", "2",
                       "--distortion", "0", "--out", str(tmp_path / "resumed")]) == 2
    assert "cannot apply on resume" in capsys.readouterr().err


def test_a_ray_that_stays_transparent_sees_the_learned_sky(outdoor):
    """Unbounded scenes light what is left of a ray from a learned function of its direction (so a plain
    backdrop or a sky needs no density in front of the cameras); it trains with the field, object scenes
    have none, and a checkpoint from before it loads without one."""
    assert TrainConfig.tuned("ngp", "cpu", "unbounded").model.sky
    assert not TrainConfig.tuned("ngp", "cpu", "bounded").model.sky
    config = TrainConfig.tuned("ngp", "cpu", **{**FAST, "model": {**FAST["model"], "sky": True}})
    trainer = Trainer(load_scene(outdoor), config)
    assert "sky" in [g["name"] for g in trainer.optimizer.param_groups]
    rays_o, rays_d, _, bg = trainer.sample_batch(32)
    trainer.model.grid.occupied.zero_()  # nothing to sample: every ray is all sky
    with torch.no_grad():
        for background in (bg, torch.ones(3)):
            out = trainer.model.render_rays(rays_o, rays_d, background, stratified=False, generator=None)
            assert out.opacity.abs().max() == 0
            torch.testing.assert_close(out.rgb, torch.sigmoid(trainer.model.sky(rays_d)))
    before = trainer.model.sky[1].weight.detach().clone()
    trainer.model.grid.occupied.fill_(True)
    for _ in range(3):
        trainer.step()
    assert not torch.equal(before, trainer.model.sky[1].weight)
    assert Trainer(load_scene(outdoor, scene_type="bounded"), config).model.sky is None
    old = config.to_dict()
    del old["model"]["sky"]
    assert not TrainConfig.from_dict(old).model.sky


def test_unbounded_captures_start_transparent(outdoor):
    """A field whose density starts near one a unit made every ray of a 360-degree capture opaque within
    its first few units, so the learned sky got no light to learn from and the field painted the sky
    and the far landmarks as haze in front of the cameras (BENCHMARKS.md, "A transparent start").
    Unbounded captures, frontal ones too, now start at optical depth 2 along a whole ray, whatever the
    scene's scale, and their occupancy grid culls only what is clearly emptier than the rest while the
    field is young; object scenes and CUDA start as before, and so do old checkpoints."""
    for frontal in (False, True):
        unbounded = TrainConfig.tuned("ngp", "cpu", "unbounded", frontal=frontal).model
        assert (unbounded.start_depth, unbounded.grid_mean_fraction, unbounded.grid_young) == (2.0, 0.1, 16)
    others = (TrainConfig.tuned("ngp", "cpu", "bounded"), TrainConfig.tuned("ngp", "cuda", "unbounded"))
    for other in (config.model for config in others):
        assert (other.start_depth, other.grid_mean_fraction, other.grid_young) == (0.0, 1.0, 0)

    def start(depth: float) -> tuple[Trainer, float]:
        torch.manual_seed(0)
        model = {**FAST["model"], "sky": True, "start_depth": depth}
        trainer = Trainer(load_scene(outdoor), TrainConfig.tuned("ngp", "cpu", "unbounded", **{**FAST, "model": model}))
        rays_o, rays_d, _, bg = trainer.sample_batch(256)
        with torch.no_grad():
            out = trainer.model.render_rays(rays_o, rays_d, bg, stratified=False, generator=None)
        return trainer, float(out.opacity.mean())
    (opaque, opaque_opacity), (clear, clear_opacity) = start(0.0), start(0.5)
    assert opaque_opacity > 0.98  # opaque within each ray's first units (early stop at 1e-2 caps it)
    assert clear_opacity == pytest.approx(1.0 - math.exp(-0.5), abs=0.05)  # 1 - e^-depth
    model = clear.model
    assert opaque.model.field.density_shift == 0.0
    assert model.field.density_shift == pytest.approx(math.log(0.5 / (model.far - model.near)))
    x = torch.rand(64, 3) * 2 - 1  # the shift scales the start's density, nothing else
    shifted = model.field.density(x)
    model.field.density_shift = 0.0
    torch.testing.assert_close(shifted, model.field.density(x) * (0.5 / (model.far - model.near)))
    old = TrainConfig.tuned("ngp", "cpu", "unbounded").to_dict()
    for name in ("start_depth", "grid_mean_fraction", "grid_young"):
        del old["model"][name]
    restored = TrainConfig.from_dict(old).model
    assert (restored.start_depth, restored.grid_mean_fraction, restored.grid_young) == (0.0, 1.0, 0)
