"""TrainingWorker life cycle against the fake trainer (no NeRF, no GUI)."""
import gc
import json
import threading
import time
import weakref

import pytest

from nerf.data.cameras import look_at, make_cameras
from nerf.data.crop import CropBox
from nerf.train.loop import LOG_SECONDS
from nerf.train.worker import RenderRequest, TrainingWorker
from nerf.train.worker_messages import EvalScore
from tests.support.fakes import FakeTrainer


HANG = 30.0  # seconds: every wait below is bounded by this to catch a hang; it is never a speed target


def _stats(worker, predicate, timeout=HANG):
    """Wait for a stats message satisfying predicate; return it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s = worker.stats.wait(0.1)
        if s is not None and predicate(s):
            return s
    raise AssertionError("no matching stats in time")


class _Watched(FakeTrainer):
    """Tells the test when a render has begun (`rendering`) and how each ended (`finished`: False
    when it gave up, True when it returned an image), so no test has to guess from the clock."""

    def __init__(self, **knobs):
        super().__init__(**knobs)
        self.rendering = threading.Event()
        self.finished: list[bool] = []

    def render(self, *args, **kwargs):
        self.rendering.set()
        out = super().render(*args, **kwargs)
        self.finished.append(out is not None)
        return out


@pytest.fixture
def trainer():
    """The worker's trainer: the test reads it, and sets its failure knobs, only as a bystander."""
    return FakeTrainer()


@pytest.fixture
def worker(trainer, tmp_path):
    w = TrainingWorker(trainer, log_path=tmp_path / "log.jsonl", stats_interval=0.02).start()
    yield w
    assert w.stop(HANG)


def _camera(size=8):
    return make_cameras(look_at((3.0, 0.0, 1.0), (0, 0, 0)), size, size, fov_y_deg=40.0)


def _log(path):
    """The run log's records, parsed strictly: NaN or Infinity would fail."""
    def refuse(token):
        raise ValueError(f"{token} is not JSON")
    return [json.loads(x, parse_constant=refuse) for x in path.read_text().splitlines()]


def test_trains_pauses_resumes_and_logs(worker, trainer, tmp_path):
    _stats(worker, lambda s: s.step >= 5)
    worker.pause()
    paused = _stats(worker, lambda s: not s.running)
    worker.request_render(RenderRequest(_camera(), tag="probe"))
    assert worker.frames.wait(HANG).request.tag == "probe"  # the worker went round its loop, paused
    assert trainer.step_count == paused.step  # and took no step
    worker.resume()
    # records come LOG_SECONDS of training time apart: train long enough for two more
    _stats(worker, lambda s: s.running and s.step > paused.step + 3
           and s.train_seconds > paused.train_seconds + 2 * LOG_SECONDS)
    lines = _log(tmp_path / "log.jsonl")
    steps = [r["step"] for r in lines if "loss" in r]
    assert steps == sorted(steps) and steps[-1] > steps[0]
    assert {"step", "seconds", "loss", "psnr", "rays_per_s"} <= set(lines[-1])


def test_the_log_follows_the_loops_schedule(trainer, tmp_path):
    """Records LOG_SECONDS of training time apart (nerf-train's schedule), one more for the last step on stop."""
    w = TrainingWorker(trainer, log_path=tmp_path / "log.jsonl", stats_interval=0.02).start()
    _stats(w, lambda s: s.train_seconds >= 4 * LOG_SECONDS)
    assert w.stop(1.0)
    records = [r for r in _log(tmp_path / "log.jsonl") if "loss" in r]
    seconds = [r["seconds"] for r in records]
    assert len(records) >= 4 and seconds == sorted(seconds)
    assert all(later - earlier >= LOG_SECONDS - 1e-3 for earlier, later in zip(seconds, seconds[1:-1], strict=False))
    assert records[-1]["step"] == trainer.step_count and records[-1]["seconds"] == round(trainer.train_seconds, 3)


def test_reset_returns_to_step_zero_and_clears_history(worker, trainer):
    _stats(worker, lambda s: s.step >= 10)
    worker.pause()
    worker.reset()
    s = _stats(worker, lambda s: s.step == 0 and not s.running)
    assert s.history == ((), (), ())
    assert trainer.resets == 1


def test_stop_aborts_a_render_in_progress(tmp_path):
    trainer = _Watched(render_row_seconds=0.25)  # 256 rows: a minute, longer than stop() waits
    w = TrainingWorker(trainer).start()
    w.request_render(RenderRequest(_camera(256), interactive=True))
    assert trainer.rendering.wait(HANG)
    assert w.stop(HANG)
    assert not w.alive and trainer.finished == [False]  # the render gave up, it did not run out


def test_step_exception_is_published_and_worker_keeps_serving(worker, trainer):
    _stats(worker, lambda s: s.step >= 2)
    trainer.fail_next_step = True  # set from the test thread; read by the worker
    err = worker.errors.wait(HANG)
    assert err is not None and "fake step failure" in err
    _stats(worker, lambda s: not s.running)  # a failed step pauses training
    worker.request_render(RenderRequest(_camera(), tag="after-error"))
    result = worker.frames.wait(HANG)
    assert result is not None and result.request.tag == "after-error" and result.outputs is not None
    worker.resume()
    s0 = trainer.step_count
    _stats(worker, lambda s: s.step > s0 + 2)


def test_render_exception_surfaces_and_next_render_works(worker, trainer):
    trainer.fail_next_render = True
    worker.request_render(RenderRequest(_camera(), tag=1, interactive=True))
    first = worker.frames.wait(HANG)
    assert first.outputs is None and first.request.tag == 1
    assert "fake render failure" in worker.errors.wait(HANG)
    worker.request_render(RenderRequest(_camera(), tag=2, interactive=True))
    second = worker.frames.wait(HANG)
    assert second.outputs.rgb.shape == (8, 8, 3)


def test_newer_request_aborts_a_slow_render():
    trainer = _Watched(render_row_seconds=0.25)
    w = TrainingWorker(trainer, start_paused=True).start()
    try:
        w.request_render(RenderRequest(_camera(256), tag="slow"))  # a minute, unless cut short
        assert trainer.rendering.wait(HANG)
        w.request_render(RenderRequest(_camera(4), tag="fast"))
        got = []
        while not any(r.request.tag == "fast" for r in got):
            got.append(w.frames.wait(HANG))
            assert got[-1] is not None, f"no frame for the newer request; frames so far: {got[:-1]}"
        assert got[-1].outputs is not None
        assert all(r.outputs is None for r in got if r.request.tag == "slow")
        assert trainer.finished == [False, True]  # the slow render gave up for the fast one
    finally:
        assert w.stop(HANG)


def test_settings_jobs_and_budget_run_on_the_worker_thread(worker, trainer, tmp_path):
    worker.set_lr(0.5)
    worker.set_batch_rays(77)
    worker.submit("save", lambda t, abort: (t.save(tmp_path / "ck.pt"), "saved")[1])
    saved = worker.notices.get(timeout=HANG)
    assert saved.name == "save" and saved.result == "saved" and (tmp_path / "ck.pt").is_file()
    worker.evaluate("test")
    notice = worker.notices.get(timeout=HANG)
    assert notice.name == "evaluate" and isinstance(notice.result, EvalScore)
    assert notice.result.psnr >= 20.0 and notice.result.views == 2
    s = _stats(worker, lambda s: s.test is not None)
    assert s.test == notice.result and s.test.step <= s.step
    evaluations = [r for r in _log(tmp_path / "log.jsonl") if "test_psnr" in r]
    assert evaluations[-1]["test_psnr"] == notice.result.psnr and evaluations[-1]["step"] == notice.result.step
    assert trainer.lr == 0.5 and trainer.batch_rays == 77
    worker.set_budget(0.05)
    _stats(worker, lambda s: not s.running and s.train_seconds >= 0.05)
    assert worker.notices.get(timeout=HANG).name == "budget"
    assert None in trainer.progress_seen  # before the budget: no progress, the step schedule
    budgeted = [p for p in trainer.progress_seen if p is not None]
    assert budgeted and budgeted == sorted(budgeted) and budgeted[-1] < 1.0  # then the fraction used
    assert len(trainer.thread_ids) == 1 and threading.get_ident() not in trainer.thread_ids


def test_swap_trainer_replaces_the_model(worker):
    _stats(worker, lambda s: s.step >= 3)
    fresh = FakeTrainer(step_seconds=0.001)
    worker.swap_trainer("model", lambda: fresh)
    assert worker.notices.get(timeout=HANG).name == "model"
    s = _stats(worker, lambda s: s.step < 3)
    assert s.history[0] == () or s.history[0][0] == 1
    _stats(worker, lambda s: s.step >= 1)
    assert fresh.step_count > 0  # the new trainer is the one that trains


class _HeldStep(FakeTrainer):
    """Each step begins (`stepping` is set) and then waits for `go` before its forward pass."""

    def __init__(self):
        super().__init__(step_seconds=0.0)
        self.stepping, self.go = threading.Event(), threading.Event()

    def step(self, should_yield=None):
        self.stepping.set()
        self.go.wait(HANG)
        return super().step(should_yield)


def test_a_camera_move_drops_the_step_in_progress(tmp_path):
    trainer = _HeldStep()
    w = TrainingWorker(trainer, stats_interval=0.02).start()
    try:
        assert trainer.stepping.wait(HANG)  # a step is under way
        w.request_render(RenderRequest(_camera(), interactive=True))
        trainer.go.set()  # the forward pass ends with the camera move waiting
        frame = w.frames.wait(HANG)
        assert frame is not None and frame.outputs is not None
        assert trainer.yielded >= 1  # the step gave way to the frame instead of finishing first
    finally:
        assert w.stop(HANG)


def test_interacting_holds_training(worker, trainer):
    worker.set_interacting(True)
    s = _stats(worker, lambda s: s.interacting)
    held = trainer.step_count
    worker.request_render(RenderRequest(_camera(), tag="probe", interactive=True))
    assert worker.frames.wait(HANG).request.tag == "probe"  # the worker went round its loop, held
    assert trainer.step_count == held  # and took no step
    worker.set_interacting(False)
    _stats(worker, lambda s: s.step > held)
    assert s.step <= held


def test_shards_give_every_trainer_the_pool_and_stop_ends_its_threads():
    def shard_threads():
        return [t for t in threading.enumerate() if t.name.startswith("nerf-shard")]
    trainer, fresh = FakeTrainer(), FakeTrainer()
    w = TrainingWorker(trainer, num_threads=2, shards=True, stats_interval=0.02).start()
    _stats(w, lambda s: s.step >= 2)
    first = trainer.pool
    assert first is not None and first.size == 2 and len(shard_threads()) == 1
    w.swap_trainer("fresh", lambda: fresh)
    assert w.notices.get(timeout=HANG).name == "fresh"
    assert fresh.pool is first
    assert w.stop(HANG)
    assert shard_threads() == []


def _notices(worker, names):
    """The notices up to the first named one; queue.Empty if none comes within HANG seconds."""
    seen = []
    while not any(n.name in names for n in seen):
        seen.append(worker.notices.get(timeout=HANG))
    return seen


def test_a_nan_recovery_is_told_and_three_in_a_row_pause_training(worker, trainer, tmp_path):
    _stats(worker, lambda s: s.step >= 2)
    trainer.nan_steps = 1
    seen = _notices(worker, {"nan_recovered"})
    assert [n.name for n in seen if n.name.startswith("nan")] == ["nan_recovered"]
    assert _stats(worker, lambda s: s.step >= seen[-1].result + 2).running  # one NaN: training goes on
    trainer.nan_steps = 3
    seen = _notices(worker, {"nan_paused"})
    assert [n.name for n in seen if n.name.startswith("nan")] == ["nan_recovered", "nan_recovered", "nan_paused"]
    assert not _stats(worker, lambda s: not s.running).running
    assert all(r.get("loss") is not None for r in _log(tmp_path / "log.jsonl") if "loss" in r)  # no NaN records


def test_a_render_requests_crop_box_reaches_the_trainer(tmp_path):
    class CroppingTrainer(FakeTrainer):
        """Takes `crop` as Trainer.render does and keeps what it was given."""

        def __init__(self):
            super().__init__()
            self.crops = []

        def render(self, cameras, index=0, *, crop=None, **kwargs):
            self.crops.append(crop)
            return super().render(cameras, index, **kwargs)

    trainer = CroppingTrainer()
    box = CropBox.cube(0.5)
    with_box = TrainingWorker(trainer, log_path=tmp_path / "log.jsonl", start_paused=True).start()
    try:
        with_box.request_render(RenderRequest(_camera(), crop=box))
        assert with_box.frames.wait(HANG).outputs is not None
        with_box.request_render(RenderRequest(_camera()))
        assert with_box.frames.wait(HANG).outputs is not None
    finally:
        assert with_box.stop(HANG)
    assert trainer.crops == [box, None]


def test_a_render_error_never_hides_the_training_error_before_it(worker, trainer):
    _stats(worker, lambda s: s.step >= 2)
    trainer.fail_next_step = True
    _stats(worker, lambda s: not s.running)  # the step failed and paused training; its error waits unread
    trainer.fail_next_render = True
    worker.request_render(RenderRequest(_camera(), tag="fails", interactive=True))
    assert worker.frames.wait(HANG).outputs is None
    first, second = worker.errors.wait(HANG), worker.errors.wait(HANG)
    assert "fake step failure" in first and "fake render failure" in second


def test_a_failure_of_the_loop_itself_is_said_not_silent(trainer, monkeypatch):
    w = TrainingWorker(trainer)
    monkeypatch.setattr(w, "_drain_commands", lambda: 1 / 0)  # a bug outside any step, render or job
    w.start()
    error = w.errors.wait(HANG)
    assert error is not None and "the training thread stopped" in error and "ZeroDivisionError" in error
    assert w.stop(HANG)


def test_a_replaced_trainer_is_freed():
    trainer = FakeTrainer()  # not the fixture's: pytest would keep that one alive
    first = weakref.ref(trainer)
    w = TrainingWorker(trainer).start()
    del trainer
    w.swap_trainer("another", lambda: FakeTrainer())
    assert w.notices.get(timeout=HANG).name == "another"
    gc.collect()
    assert first() is None  # nothing in the worker kept the old one (nor its parameters) alive
    assert w.stop(HANG)
