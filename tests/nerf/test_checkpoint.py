"""nerf/train/checkpoint.py through Trainer.save/load: exact resume and bad files."""
import pytest

from nerf.errors import InputError
from nerf.train.checkpoint import read_checkpoint
from nerf.train.trainer import Trainer, TrainConfig
from tests.support.scenes import TINY


def test_save_load_continue_matches_uninterrupted(scene, tmp_path):
    cfg = TrainConfig.for_model("ngp", "cpu", **TINY)
    a = Trainer(scene, cfg)
    for _ in range(20):  # past an occupancy update (every 16 steps)
        a.step()
    a.save(tmp_path / "ck.pt")
    losses_a = [a.step()["loss"] for _ in range(14)]  # crosses the next grid update at 32
    b = Trainer.load(tmp_path / "ck.pt", scene=scene)
    assert b.step_count == 20
    losses_b = [b.step()["loss"] for _ in range(14)]
    assert losses_a == pytest.approx(losses_b, rel=1e-5, abs=1e-7)


def test_a_checkpoint_records_its_config_scene_and_meta(scene, tmp_path):
    trainer = Trainer(scene, TrainConfig.for_model("ngp", "cpu", **TINY))
    trainer.meta = {"downscale": 2}
    trainer.save(tmp_path / "runs" / "ck.pt")  # the folder is made
    payload = read_checkpoint(tmp_path / "runs" / "ck.pt")
    assert TrainConfig.from_dict(payload["config"]) == trainer.config
    assert payload["scene"] == {"root": str(scene.root), "name": scene.name}
    assert payload["meta"] == {"downscale": 2} and payload["state"]["step"] == 0
    assert [p.name for p in (tmp_path / "runs").iterdir()] == ["ck.pt"]  # no .tmp left behind


def test_load_rejects_bad_checkpoint(tmp_path, scene):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(InputError):
        Trainer.load(bad, scene=scene)
    with pytest.raises(InputError):
        Trainer.load(tmp_path / "missing.pt", scene=scene)
    with pytest.raises(InputError, match="no such checkpoint"):
        read_checkpoint(tmp_path / "missing.pt")
