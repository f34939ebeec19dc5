"""open_session: a scene folder or a checkpoint becomes a trainer, a device and a run folder."""
import argparse

import pytest
import torch

from nerf.data.generated.synthetic import write_synthetic_scene
from nerf.errors import InputError
from viewer.session import open_session


def _args(source, out, **kw):
    return argparse.Namespace(source=str(source) if source else None, model=kw.get("model", "nerf"),
                              device="cpu", downscale=kw.get("downscale", 1), out=str(out))


def test_scene_then_checkpoint_reopens_model_and_scene(tmp_path):
    scene_dir = tmp_path / "scene"
    write_synthetic_scene(scene_dir, n_train=4, n_test=2, size=16)
    s = open_session(_args(scene_dir, tmp_path / "run1", downscale=2))
    assert s.run_dir.is_dir() and s.device.type == "cpu"
    assert s.trainer.config.model == "nerf" and s.trainer.scene.split("train").images.shape[1] == 8
    s.trainer.step()
    ckpt = tmp_path / "run1" / "ckpt.pt"
    s.trainer.save(ckpt)
    with pytest.raises(InputError, match="cannot apply on resume"):  # not silently the checkpoint's model
        open_session(_args(ckpt, tmp_path / "run2", model="ngp"))
    again = open_session(_args(ckpt, tmp_path / "run2", model=None))
    assert again.trainer.step_count == 1 and again.trainer.config.model == "nerf"  # the checkpoint's model
    assert again.trainer.scene.split("train").images.shape[1] == 8  # reloaded with the same downscale


def test_missing_scene_and_bad_device_raise_one_error_type(tmp_path):
    with pytest.raises(InputError) as e:
        open_session(_args(tmp_path / "nope", tmp_path / "run"))
    assert e.value.path.endswith("nope") and e.value.problem
    if not torch.cuda.is_available():
        with pytest.raises(InputError) as e:
            open_session(argparse.Namespace(source=None, model="ngp", device="cuda", downscale=1,
                                            out=str(tmp_path / "r")))
        assert "cuda" in e.value.problem
