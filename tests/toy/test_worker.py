import time

import pytest

import toy.worker
from toy.model import ModelConfig
from toy.snapshot import LabSnapshot
from toy.train import FitConfig
from toy.worker import Setup, ToyWorker

TINY_CONFIGS = ((ModelConfig(hidden=(4,)), FitConfig()),) * 2


def _wait_for(worker, predicate, timeout=60.0) -> LabSnapshot:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        snap = worker.snapshots.wait(0.05)
        if snap is not None and predicate(snap):
            return snap
    pytest.fail("no matching snapshot in time")


@pytest.fixture
def worker():
    w = ToyWorker(snapshot_interval=0.01, duty=1.0)
    w.start()
    yield w
    w.stop()
    assert not w.alive


def test_worker_trains_both_configs_and_stops(worker):
    fit = FitConfig(fraction=0.5, lr=1e-2)
    configs = ((ModelConfig(hidden=(8,), warp="affine"), fit), (ModelConfig(encoding="learned", hidden=(8,)), fit))
    worker.send("setup", Setup(None, 16, configs))
    worker.send("run", True)
    snap = _wait_for(worker, lambda s: s.configs and min(c.step for c in s.configs) >= 5)
    a, b = snap.configs
    assert a.recon.shape == (16, 16, 3) and a.error_map.shape == (16, 16)
    assert a.warp_grid.shape[-1] == 2 and a.embedding is None
    assert b.embedding.shape[0] == 20  # Linear(2 -> 20) channel maps
    assert len(a.history[0]) == len(a.history[1]) >= 2
    worker.send("run", False)
    worker.send("reset")
    snap = _wait_for(worker, lambda s: not s.running and s.configs[0].step == 0)
    assert snap.error is None


def test_worker_reports_bad_image_without_dying(worker, tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_text("nope")
    worker.send("setup", Setup(str(bad), 16, TINY_CONFIGS))
    snap = _wait_for(worker, lambda s: s.error is not None)
    assert "not an image" in snap.error and worker.alive


def test_a_failing_snapshot_is_reported_and_the_worker_lives_on(worker, monkeypatch):
    real = toy.worker.snapshot_of
    failed = []

    def fails_once_training_ran(trainer, history, image):
        if trainer.step_count > 0 and not failed:  # the loop's snapshot, between training steps
            failed.append(True)
            raise IndexError("broken snapshot")
        return real(trainer, history, image)

    monkeypatch.setattr(toy.worker, "snapshot_of", fails_once_training_ran)
    worker.send("setup", Setup(None, 16, TINY_CONFIGS))
    worker.send("run", True)
    snap = _wait_for(worker, lambda s: s.error is not None)
    assert snap.error == "snapshot failed: broken snapshot" and not snap.running and worker.alive
    worker.send("run", True)  # training resumes on request, like after a training error
    snap = _wait_for(worker, lambda s: s.running and s.configs and s.configs[0].step > 0)
    assert snap.error is None


def test_queued_setups_collapse_to_the_last(monkeypatch):
    sizes = []
    real = toy.worker.default_image
    monkeypatch.setattr(toy.worker, "default_image", lambda size: (sizes.append(size), real(size))[1])
    worker = ToyWorker()
    for size in (8, 12, 16):
        worker.send("setup", Setup(None, size, TINY_CONFIGS))
    worker.send("run", False)
    worker.start()  # the three setups are already queued when the thread starts
    snap = _wait_for(worker, lambda s: s.configs)
    worker.stop()
    assert sizes == [16] and snap.configs[0].recon.shape == (16, 16, 3)


def test_a_missing_image_is_reported_with_no_configurations(worker):
    worker.send("setup", Setup("/no/such/image.png", 16, TINY_CONFIGS))
    snap = _wait_for(worker, lambda s: s.error is not None)
    assert "missing" in snap.error and snap.configs == []
