"""nerf/parallel.py, and the Trainer and occupancy grid working in shards on a ShardPool."""
import threading
import time

import pytest
import torch

from nerf.volume.occupancy import OccupancyGrid
from nerf.train.shards import ShardPool
from nerf.train.trainer import Trainer, TrainConfig
from nerf.train.run import load_trained
from tests.support.scenes import TINY


@pytest.fixture
def pool():
    """Two shard threads, the test's own thread one of them: like the viewer's worker, the caller
    runs one torch thread (ShardPool's contract). With more, a shard's reductions would split
    differently depending on which thread took it, and runs would differ in the last bits."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    p = ShardPool(2)
    yield p
    p.close()
    torch.set_num_threads(threads)


def test_map_keeps_order_uses_every_thread_and_raises_the_first_error(pool):
    threads = set()

    def piece(i):
        threads.add(threading.get_ident())
        time.sleep(0.02)  # long enough that the helper takes pieces too
        return i * i
    assert pool.map(piece, 6) == [0, 1, 4, 9, 16, 25]
    assert len(threads) == 2 and threading.get_ident() in threads
    assert pool.map(piece, 0) == []

    def fails(i):
        if i == 1:
            raise ValueError("piece 1")
        return i
    with pytest.raises(ValueError, match="piece 1"):
        pool.map(fails, 4)
    assert pool.map(lambda i: i + 1, 3) == [1, 2, 3]  # still usable


def test_pieces_run_in_the_callers_grad_mode(pool):
    def mode(_i):
        time.sleep(0.02)
        return torch.is_grad_enabled()
    with torch.no_grad():
        assert pool.map(mode, 4) == [False] * 4
    assert pool.map(mode, 4) == [True] * 4


def test_close_ends_the_helper_threads():
    before = threading.active_count()
    p = ShardPool(3)
    assert threading.active_count() == before + 2
    p.close()
    assert threading.active_count() == before


def _unjittered(trainer):
    """Samples at step centres: the batch's samples no longer depend on which generator draws."""
    real = trainer.model.render_rays
    trainer.model.render_rays = lambda *a, **k: real(*a, **{**k, "stratified": False})
    return trainer


def test_a_sharded_step_equals_the_whole_batch_step(scene, pool):
    cfg = TrainConfig.tuned("ngp", "cpu", **TINY)
    whole, sharded = _unjittered(Trainer(scene, cfg)), _unjittered(Trainer(scene, cfg))
    sharded.pool = pool
    for _ in range(3):
        a, b = whole.step(), sharded.step()
        assert b.loss == pytest.approx(a.loss, rel=1e-5)
        assert b.psnr == pytest.approx(a.psnr, rel=1e-5)
        assert b.samples_per_ray == pytest.approx(a.samples_per_ray, rel=1e-6)
    for p, q in zip(whole.model.parameters(), sharded.model.parameters(), strict=True):
        torch.testing.assert_close(q, p, rtol=1e-4, atol=1e-6)


def test_sharded_training_is_reproducible_and_resumes_exactly(scene, tmp_path, pool):
    cfg = TrainConfig.tuned("ngp", "cpu", **TINY)
    a, b = Trainer(scene, cfg), Trainer(scene, cfg)
    a.pool = b.pool = pool
    assert [a.step().loss for _ in range(20)] == [b.step().loss for _ in range(20)]
    a.save(tmp_path / "ck.pt")
    losses_a = [a.step().loss for _ in range(14)]  # crosses the grid update at step 32
    c = load_trained(tmp_path / "ck.pt", scene=scene)
    c.pool = pool
    assert [c.step().loss for _ in range(14)] == losses_a


def test_a_yielded_sharded_step_changes_nothing(scene, pool):
    trainer = Trainer(scene, TrainConfig.tuned("ngp", "cpu", **TINY))
    trainer.pool = pool
    trainer.step()
    table = trainer.model.field.grid.table.detach().clone()
    stats = trainer.step(should_yield=lambda: True)
    assert stats.outcome == "yielded" and trainer.step_count == 1
    assert torch.equal(trainer.model.field.grid.table, table)


def test_pooled_render_equals_the_serial_one(scene, pool):
    trainer = Trainer(scene, TrainConfig.tuned("ngp", "cpu", **TINY))
    for _ in range(20):
        trainer.step()
    cams = scene.split("test").cameras
    serial = trainer.render(cams, 0, chunk=100)
    trainer.pool = pool
    pooled = trainer.render(cams, 0, chunk=100)  # 1024 rays: 11 rounds of 2 x 50
    for k in ("rgb", "depth", "opacity"):
        torch.testing.assert_close(getattr(pooled, k), getattr(serial, k))
    assert trainer.render(cams, 0, chunk=100, should_abort=lambda: True) is None


def test_a_pooled_grid_update_equals_the_serial_one(pool):
    def density(x):
        return (x.norm(dim=-1) < 0.5).float() * 10.0

    serial, pooled = OccupancyGrid(1.0, res=16, warmup_steps=10), OccupancyGrid(1.0, res=16, warmup_steps=10)
    for step in (0, 20):  # all cells (warm-up), then a random subset
        serial.update(step, density, torch.Generator().manual_seed(step), chunk=1000)
        pooled.update(step, density, torch.Generator().manual_seed(step), chunk=1000, pool=pool)
        torch.testing.assert_close(pooled.density, serial.density)
        assert torch.equal(pooled.occupied, serial.occupied)
    once, stopped = OccupancyGrid(1.0, res=16, warmup_steps=10), OccupancyGrid(1.0, res=16, warmup_steps=10)
    once.update(0, density, torch.Generator().manual_seed(0), chunk=1000, pool=pool)
    g = torch.Generator().manual_seed(0)
    assert stopped.update(0, density, g, chunk=1000, pool=pool, should_stop=lambda: True) is False
    resumes = 1
    while not stopped.resume(density, g, chunk=1000, pool=pool, should_stop=lambda: True):
        resumes += 1
    assert resumes == 4 and int(stopped.updates) == 1  # 4096 cells: a chunk per call, as without a pool
    torch.testing.assert_close(stopped.density, once.density)
