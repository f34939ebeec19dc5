"""nerf/train/checkpoint.py through Trainer.save/load: exact resume (through stops, for every schedule),
another scene's checkpoint, old and bad files."""
import pytest

from nerf.errors import InputError
import torch

from nerf.data.formats.registry import load_scene
from nerf.data.generated.synthetic import write_synthetic_scene
from nerf.train.loop import Budget, TrainingLoop
from nerf.train.checkpoint import CHECKPOINT_VERSION, read_checkpoint, scene_fingerprint
from nerf.train.trainer import Trainer, TrainConfig
from nerf.train.run import load_trained
from tests.support.scenes import TINY, tiny

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(),
                                                                 reason="no CUDA device"))]


def test_save_load_continue_matches_uninterrupted(scene, tmp_path):
    cfg = TrainConfig.tuned("ngp", "cpu", **TINY)
    a = Trainer(scene, cfg)
    for _ in range(20):  # past an occupancy update (every 16 steps)
        a.step()
    a.save(tmp_path / "ck.pt")
    losses_a = [a.step().loss for _ in range(14)]  # crosses the next grid update at 32
    b = load_trained(tmp_path / "ck.pt", scene=scene)
    assert b.step_count == 20
    losses_b = [b.step().loss for _ in range(14)]
    assert losses_a == pytest.approx(losses_b, rel=1e-5, abs=1e-7)


def test_a_checkpoint_records_its_config_scene_and_meta(scene, tmp_path):
    trainer = Trainer(scene, TrainConfig.tuned("ngp", "cpu", **TINY))
    trainer.meta = {"downscale": 2}
    trainer.save(tmp_path / "runs" / "ck.pt")  # the folder is made
    payload = read_checkpoint(tmp_path / "runs" / "ck.pt")
    assert TrainConfig.from_dict(payload["config"]) == trainer.config
    assert payload["scene"] == {"root": str(scene.root), "name": scene.name, "fingerprint": scene_fingerprint(scene),
                                "space": {"type": "bounded", "bound": scene.bound}}
    assert payload["version"] == CHECKPOINT_VERSION
    assert payload["meta"] == {"downscale": 2, "scene_type": "bounded"} and payload["state"]["step"] == 0
    assert [p.name for p in (tmp_path / "runs").iterdir()] == ["ck.pt"]  # no .tmp left behind


def test_a_checkpoint_reloads_its_scene_as_the_type_it_was_trained_as(scene, tmp_path):
    # the object scene trained as unbounded (--scene-type): loaded without a scene, it comes back so
    unbounded = load_scene(scene.root, scene_type="unbounded")
    Trainer(unbounded, TrainConfig.tuned("ngp", "cpu", **TINY)).save(tmp_path / "ck.pt")
    assert load_trained(tmp_path / "ck.pt").scene.scene_type == "unbounded"


def test_the_same_cameras_read_into_another_space_are_refused(scene, tmp_path):
    # same cameras, so the same fingerprint, but another scene type or region: the weights would load
    # and mean something else (a capture resumed with and without its aabb_scale)
    Trainer(scene, TrainConfig.tuned("ngp", "cpu", **TINY)).save(tmp_path / "ck.pt")
    with pytest.raises(InputError, match="as bounded with bound .* now loads as unbounded"):
        load_trained(tmp_path / "ck.pt", scene=load_scene(scene.root, scene_type="unbounded"))
    wider = load_scene(scene.root)
    wider.bound *= 2.0
    with pytest.raises(InputError, match="now loads as bounded with bound"):
        load_trained(tmp_path / "ck.pt", scene=wider)
    assert load_trained(tmp_path / "ck.pt", scene=load_scene(scene.root)).step_count == 0


def test_load_rejects_bad_checkpoint(tmp_path, scene):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(InputError):
        load_trained(bad, scene=scene)
    with pytest.raises(InputError):
        load_trained(tmp_path / "missing.pt", scene=scene)
    with pytest.raises(InputError, match="no such checkpoint"):
        read_checkpoint(tmp_path / "missing.pt")


def _stop_after(calls: int):
    """A should_yield / should_stop that says "stop" from its `calls`+1-th question on."""
    asked = []

    def should_stop() -> bool:
        asked.append(1)
        return len(asked) > calls
    return should_stop


@pytest.mark.parametrize("calls, where", [(0, "after the forward pass"), (1, "inside the occupancy refresh")])
def test_resume_is_exact_after_a_stop_inside_a_step(scene, tmp_path, calls, where):
    cfg = TrainConfig.tuned("ngp", "cpu", **tiny(dict(grid_res=48)))  # a refresh of 2 chunks
    a = Trainer(scene, cfg)
    for _ in range(15):
        a.step()
    b = load_trained(_saved(a, tmp_path / "a.pt"), scene=scene)
    losses_a = [a.step().loss for _ in range(6)]  # step 16 refreshes the grid
    stopped = b.step(should_yield=_stop_after(calls))
    assert (stopped.outcome == "yielded") == (calls == 0), where
    c = load_trained(_saved(b, tmp_path / "b.pt"), scene=scene)
    losses_c = ([] if calls == 0 else [stopped.loss]) + [c.step().loss for _ in range(6 - (calls != 0))]
    assert losses_a == pytest.approx(losses_c, rel=1e-5, abs=1e-7)


def _saved(trainer: Trainer, path):
    trainer.save(path)
    return path


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("schedule", ["exp", "budget"])
def test_a_stopped_and_resumed_run_ends_with_the_weights_of_one_that_never_stopped(scene, tmp_path, schedule,
                                                                                   device):
    cfg = TrainConfig.tuned("ngp", device, **{**TINY, "lr_schedule": schedule, "lr_decay": 0.5,
                                                  "lr_decay_steps": 8})
    whole = Trainer(scene, cfg, device)
    TrainingLoop(whole, Budget(steps=20)).run()
    first = Trainer(scene, cfg, device)
    assert TrainingLoop(first, Budget(steps=20)).run(should_stop=lambda: first.step_count >= 9).interrupted
    resumed = load_trained(_saved(first, tmp_path / "ck.pt"), scene=scene, device=device)
    assert resumed.step_count == 9
    TrainingLoop(resumed, Budget.more(resumed, steps=11)).run()  # crosses the budget schedule's steps at 10, 15, 18
    assert resumed.step_count == whole.step_count == 20
    assert resumed.current_lr() == whole.current_lr() < cfg.lr  # the budget schedule did not restart
    tol = dict(rtol=1e-5, atol=1e-6) if device == "cpu" else dict(rtol=1e-3, atol=1e-4)  # CUDA atomics
    for (name, w), r in zip(whole.model.state_dict().items(), resumed.model.state_dict().values(), strict=True):
        torch.testing.assert_close(r, w, **tol, msg=name)


def test_another_scenes_checkpoint_is_refused_in_one_line(scene, tmp_path):
    trainer = Trainer(scene, TrainConfig.tuned("ngp", "cpu", **TINY))
    path = _saved(trainer, tmp_path / "ck.pt")
    other_root = tmp_path / "other"
    write_synthetic_scene(other_root, n_train=9, n_test=2, size=32)  # other cameras, same shapes
    with pytest.raises(InputError) as info:
        load_trained(path, scene=load_scene(other_root))
    assert info.value.path == str(path) and f"trained on scene '{scene.name}'" in info.value.problem
    assert "\n" not in str(info.value)
    half = load_scene(scene.root, downscale=2)  # the same cameras at another resolution still resume
    assert load_trained(path, scene=half).step_count == 0


@pytest.mark.parametrize("payload, words", [
    ({"version": 1, "state": {}}, "no 'config'"),
    ({"version": 99, "config": {}, "state": {}, "scene": {}}, "checkpoint format 99"),
    ({"step": 3}, "not a nerf-viewer checkpoint"),
    ({"version": 2, "config": {"model": "gan"}, "state": {}, "scene": {"root": "x"}}, "unknown model 'gan'"),
])
def test_old_and_foreign_checkpoints_are_refused_in_one_line(scene, tmp_path, payload, words):
    path = tmp_path / "old.pt"
    torch.save(payload, path)
    with pytest.raises(InputError) as info:
        load_trained(path, scene=scene)
    assert words in info.value.problem and "\n" not in str(info.value)
