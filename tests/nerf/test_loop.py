"""nerf/train/loop.py: the one training loop, with the fake trainer (no NeRF)."""
import json

import pytest

from nerf.train.loop import LOG_SECONDS, NAN_STOP_AFTER, Budget, TrainingLoop
from nerf.train.run_log import RunLog
from tests.support.fakes import FakeTrainer


def test_budget_counts_the_whole_run_and_more_counts_from_now():
    trainer = FakeTrainer(step_seconds=0.0)
    trainer.step_count, trainer.train_seconds = 400, 30.0  # a resumed run
    budget = Budget.more(trainer, steps=600)
    assert budget == Budget(steps=1000)
    assert budget.progress(400, 30.0) == pytest.approx(0.4) and not budget.spent(999, 1e9)
    assert budget.spent(1000, 0.0)
    both = Budget(steps=100, seconds=10.0)
    assert both.progress(50, 8.0) == pytest.approx(0.8)  # the larger fraction
    assert Budget().progress(5, 5.0) is None and not Budget().spent(10**9, 1e9)


def test_a_resumed_run_sees_the_schedule_of_one_that_never_stopped():
    whole, resumed = FakeTrainer(step_seconds=0.0), FakeTrainer(step_seconds=0.0)
    TrainingLoop(whole, Budget(steps=10)).run()
    first = TrainingLoop(resumed, Budget(steps=10))
    first.run(should_stop=lambda: resumed.step_count >= 4)
    TrainingLoop(resumed, Budget.more(resumed, steps=6)).run()
    assert resumed.step_count == whole.step_count == 10
    assert resumed.progress_seen == whole.progress_seen  # the same fractions, step for step


def test_nan_in_a_row_ends_the_run_as_diverged():
    trainer = FakeTrainer(step_seconds=0.0)
    trainer.nan_steps = 1
    loop = TrainingLoop(trainer, Budget(steps=5))
    summary = loop.run()
    assert not summary.diverged and summary.nan_recovered == 1 and trainer.step_count == 5
    trainer.nan_steps = NAN_STOP_AFTER
    summary = TrainingLoop(trainer, Budget(steps=50)).run()
    assert summary.diverged and trainer.step_count == 5 and summary.nan_recovered == NAN_STOP_AFTER


def test_log_records_each_log_seconds_of_training_and_one_at_the_end(tmp_path):
    trainer = FakeTrainer(step_seconds=LOG_SECONDS / 4)  # the fake's steps count this much training time
    log = RunLog(tmp_path / "log.jsonl")
    summary = TrainingLoop(trainer, Budget(steps=10), log).run()
    log.close()
    records = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 5, 9, 10]  # first step, every 4 steps' time, the last
    assert summary.steps_run == 10 and summary.rays == 10 * trainer.batch_rays


def test_autosave_by_training_time_and_failures_reported(tmp_path):
    trainer = FakeTrainer(step_seconds=1.0)
    saves = []
    loop = TrainingLoop(trainer, Budget(steps=7), autosave_path=tmp_path / "ck.pt", autosave_s=3.0,
                        on_autosave=lambda step, exc: saves.append((step, exc)))
    loop.run()
    assert saves == [(3, None), (6, None)] and (tmp_path / "ck.pt").is_file()
    full = FakeTrainer(step_seconds=1.0)

    def disk_full(path):
        raise OSError(28, "No space left on device")
    full.save = disk_full
    loop = TrainingLoop(full, Budget(steps=2), autosave_path=tmp_path / "ck2.pt", autosave_s=1.0,
                        on_autosave=lambda step, exc: saves.append((step, exc)))
    assert not loop.run().interrupted  # a failed save is reported, training goes on
    assert isinstance(saves[-1][1], OSError) and full.step_count == 2
