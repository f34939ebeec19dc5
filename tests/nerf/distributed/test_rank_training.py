"""nerf/distributed/rank.py: a Trainer stepping as one of 2 gloo ranks, against one process."""
import pytest
import torch

from nerf.data.formats.registry import load_scene
from nerf.data.generated.synthetic import write_synthetic_scene
from nerf.distributed.rank import RankLoop, join_trainer
from nerf.distributed.work import batch_shares, rank_step_seed
from nerf.train.batching import sample_batch
from nerf.train.config import TrainConfig
from nerf.train.loop import Budget
from nerf.train.run_log import RunLog
from nerf.train.trainer import Trainer
from tests.support.ranks import run_ranks
from tests.support.scenes import tiny

# refreshes from the second step on, the whole grid until step 4 and a quarter of it after: the
# split refresh runs both ways within the test's few steps
CONFIG = tiny({"grid_every": 2, "grid_warmup": 4}, batch_rays=96, seed=3)


@pytest.fixture(scope="module")
def scene_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("scene")
    write_synthetic_scene(root, n_train=5, n_test=1, size=16)  # 5 views: 3 on rank 0, 2 on rank 1
    return root


def _rank_trainer(group, root):
    scene = load_scene(root, train_share=(group.rank, group.world))
    trainer = Trainer(scene, TrainConfig.tuned("ngp", "cpu", scene.scene_type, **CONFIG))
    join_trainer(trainer, group)
    return trainer


def _state(trainer):
    return {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}


def _one_step(group, root):
    trainer = _rank_trainer(group, root)
    result = trainer.step()
    return _state(trainer), result.loss, result.rays


def test_one_step_on_2_ranks_is_one_process_on_the_union_of_their_rays(scene_dir):
    ranks = run_ranks(_one_step, 2, scene_dir)
    scene = load_scene(scene_dir)
    ref = Trainer(scene, TrainConfig.tuned("ngp", "cpu", scene.scene_type, **CONFIG))
    ref.optimizer.zero_grad(set_to_none=True)
    ref._apply_lr()
    shares = batch_shares(96, [3, 2])
    assert shares == [58, 38]  # in proportion to the views
    loss = 0.0
    for rank, n in enumerate(shares):  # the union, as one process computes it: each rank's rays
        share = load_scene(scene_dir, train_share=(rank, 2)).split("train")
        generator = torch.Generator().manual_seed(3 if rank == 0 else rank_step_seed(3, rank, 0))
        rays = sample_batch(share.images, share.cameras, n, generator, has_alpha=share.has_alpha,
                            background_name=ref.config.train_background, ndc=False)
        loss += float(ref._forward_backward(*rays, generator, None, weight=n / 96).loss)
    ref.optimizer.step()
    ref.step_count += 1
    ref.model.update(ref.step_count)
    for state, rank_loss, rays in ranks:
        assert rays == 96 and rank_loss == pytest.approx(loss, rel=1e-5)
        for name, value in _state(ref).items():
            torch.testing.assert_close(state[name], value, rtol=1e-5, atol=1e-6, msg=name)
    moved = [k for k, v in _state(ref).items() if v.is_floating_point() and not torch.equal(
        v, Trainer(scene, ref.config).model.state_dict()[k])]
    assert any("table" in k for k in moved)  # the step changed the hash table, so the comparison means something


def _train(group, root, steps):
    trainer = _rank_trainer(group, root)
    for _ in range(steps):
        assert trainer.step().trained
    grid = trainer.model.grid
    return _state(trainer), int(grid.updates), int(grid.density.count_nonzero())


def test_after_some_steps_every_rank_holds_the_same_weights_and_grid(scene_dir):
    (a, updates, filled), (b, _, _) = run_ranks(_train, 2, scene_dir, 8)
    assert updates == 4 and filled > 0  # the grid was refreshed, whole and in part
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name  # bit for bit: one reduce, one refresh, gathered


def _resumed(group, root, checkpoint, steps, more):
    """`steps` steps, rank 0's checkpoint, then every rank starts again from it for `more` steps."""
    import torch.distributed as dist
    trainer = _rank_trainer(group, root)
    for _ in range(steps):
        assert trainer.step().trained
    if group.rank == 0:
        trainer.save(checkpoint)
    dist.barrier()
    resumed = _rank_trainer(group, root)
    resumed.restore(torch.load(checkpoint, weights_only=False)["state"], checkpoint)
    join_trainer(resumed, group)
    for _ in range(more):
        assert resumed.step().trained
    return _state(resumed)


def test_a_run_resumed_on_as_many_ranks_is_the_uninterrupted_run(scene_dir, tmp_path):
    # rank 1's generator is not in rank 0's checkpoint: it must draw the same rays all the same
    whole, _ = (state for state, _, _ in run_ranks(_train, 2, scene_dir, 6))
    again, _ = run_ranks(_resumed, 2, scene_dir, tmp_path / "checkpoint.pt", 3, 3)
    for name in whole:
        torch.testing.assert_close(again[name], whole[name], rtol=0, atol=1e-6, msg=name)


def _loop_until_stopped(group, root):
    trainer = _rank_trainer(group, root)
    steps = {"n": 0}

    def stop_requested():  # a signal that only rank 1 sees, after its third step
        steps["n"] += 1
        return group.rank == 1 and steps["n"] >= 3

    loop = RankLoop(trainer, group, Budget(steps=100), RunLog(None), stop_requested=stop_requested)
    summary = loop.run()
    return trainer.step_count, trainer.train_seconds, summary.interrupted


def test_a_stop_seen_by_one_rank_ends_every_rank_after_the_same_step(scene_dir):
    (step0, seconds0, stopped0), (step1, seconds1, stopped1) = run_ranks(_loop_until_stopped, 2, scene_dir)
    assert step0 == step1 == 3 and stopped0 and stopped1
    assert seconds0 == seconds1 > 0  # one training time: a --minutes budget is spent on both at once
