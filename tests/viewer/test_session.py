"""open_session: a run description (scene folder or checkpoint) becomes a trainer, a device and a run folder."""
import pytest
import torch

from nerf.commands.train_flags import run_spec
from nerf.data.generated.synthetic import write_synthetic_scene
from nerf.errors import InputError
from viewer.cli import build_parser
from viewer.session import open_session


def _spec(*argv):
    args = build_parser().parse_args([str(a) for a in argv])
    checkpoint = args.source if args.source and args.source.endswith(".pt") else None
    return run_spec(args, None if checkpoint else args.source, resume=checkpoint)


def test_scene_then_checkpoint_reopens_model_and_scene(tmp_path):
    scene_dir = tmp_path / "scene"
    write_synthetic_scene(scene_dir, n_train=4, n_test=2, size=16)
    s = open_session(_spec(scene_dir, "--model", "nerf", "--device", "cpu", "--downscale", 2,
                           "--out", tmp_path / "run1"))
    assert s.run_dir.is_dir() and s.device.type == "cpu"
    assert s.trainer.config.model_name == "nerf" and s.trainer.scene.split("train").images.shape[1] == 8
    s.trainer.step()
    ckpt = tmp_path / "run1" / "ckpt.pt"
    s.trainer.save(ckpt)
    with pytest.raises(InputError, match="cannot apply on resume"):  # not silently the checkpoint's model
        open_session(_spec(ckpt, "--model", "ngp", "--device", "cpu", "--out", tmp_path / "run2"))
    again = open_session(_spec(ckpt, "--device", "cpu", "--out", tmp_path / "run2"))
    assert again.trainer.step_count == 1 and again.trainer.config.model_name == "nerf"  # the checkpoint's model
    assert again.trainer.scene.split("train").images.shape[1] == 8  # reloaded with the same downscale


def test_the_viewer_takes_nerf_trains_flags(tmp_path):
    scene_dir = tmp_path / "scene"
    write_synthetic_scene(scene_dir, n_train=4, n_test=2, size=16)
    s = open_session(_spec(scene_dir, "--device", "cpu", "--seed", 7, "--batch-rays", 96, "--minutes", 2,
                           "--out", tmp_path / "run"))
    assert (s.trainer.config.seed, s.trainer.batch_rays, s.trainer.config.target_samples) == (7, 96, 0)
    assert s.budget.seconds == pytest.approx(120.0) and s.budget.steps is None


def test_missing_scene_and_bad_device_raise_one_error_type(tmp_path):
    with pytest.raises(InputError) as e:
        open_session(_spec(tmp_path / "nope", "--out", tmp_path / "run"))
    assert e.value.path.endswith("nope") and e.value.problem
    if not torch.cuda.is_available():
        with pytest.raises(InputError) as e:
            open_session(_spec("--device", "cuda", "--out", tmp_path / "r"))
        assert "cuda" in e.value.problem


def test_the_session_hands_its_trainer_over_and_keeps_its_downscale(tmp_path):
    scene_dir = tmp_path / "scene"
    write_synthetic_scene(scene_dir, n_train=4, n_test=2, size=16)
    s = open_session(_spec(scene_dir, "--device", "cpu", "--downscale", 2, "--out", tmp_path / "run"))
    trainer = s.hand_over()
    assert trainer is not None and s.trainer is None  # the worker's alone: a swap frees it
    assert s.downscale == 2 and s.new_trainer("ngp").scene is trainer.scene  # the session still builds trainers
