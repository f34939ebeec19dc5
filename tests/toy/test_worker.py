import time

import pytest

from toy.model import ModelConfig
from toy.train import FitConfig
from toy.worker import Mailbox, Setup, ToyWorker


def _wait_for(worker, predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        snap = worker.snapshots.take()
        if snap is not None and predicate(snap):
            return snap
        time.sleep(0.02)
    pytest.fail("no matching snapshot in time")


def test_mailbox_is_newest_wins():
    box = Mailbox()
    box.put(1)
    box.put(2)
    assert box.take() == 2 and box.take() is None


def test_worker_trains_both_configs_and_stops():
    fit = FitConfig(fraction=0.5, lr=1e-2)
    configs = ((ModelConfig(hidden=(8,), warp="affine"), fit), (ModelConfig(encoding="learned", hidden=(8,)), fit))
    worker = ToyWorker(snapshot_interval=0.01, duty=1.0)
    worker.start()
    try:
        worker.send("setup", Setup(None, 16, configs))
        worker.send("run", True)
        snap = _wait_for(worker, lambda s: s["configs"] and min(c["step"] for c in s["configs"]) >= 5)
        a, b = snap["configs"]
        assert a["recon"].shape == (16, 16, 3) and a["error"].shape == (16, 16)
        assert a["warp_grid"].shape[-1] == 2 and a["embedding"] is None
        assert b["embedding"].shape[0] == 20  # Linear(2 -> 20) channel maps
        assert len(a["history"][0]) == len(a["history"][1]) >= 2
        worker.send("run", False)
        worker.send("reset")
        snap = _wait_for(worker, lambda s: not s["running"] and s["configs"][0]["step"] == 0)
        assert snap["error"] is None
    finally:
        worker.stop()
    assert not worker.alive


def test_worker_reports_bad_image_without_dying(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_text("nope")
    worker = ToyWorker()
    worker.start()
    try:
        worker.send("setup", Setup(str(bad), 16, ((ModelConfig(hidden=(4,)), FitConfig()),) * 2))
        snap = _wait_for(worker, lambda s: s["error"] is not None)
        assert "not an image" in snap["error"] and worker.alive
    finally:
        worker.stop()


def test_queued_setups_collapse_to_the_last():
    worker = ToyWorker()
    built = []
    original = worker._setup
    worker._setup = lambda setup: (built.append(setup.size), original(setup))
    configs = ((ModelConfig(hidden=(4,)), FitConfig()),) * 2
    for size in (8, 12, 16):
        worker.send("setup", Setup(None, size, configs))
    worker.send("run", False)
    worker.send("stop")
    worker.start()
    worker._thread.join(60)
    assert built == [16]
    snap = worker.snapshots.take()
    assert snap["configs"][0]["recon"].shape == (16, 16, 3)
