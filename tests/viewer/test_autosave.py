"""Autosave in a viewer session: the loop on the worker's thread saves by training time, the app once more on close."""
from nerf.train.worker import TrainingWorker
from tests.support.fakes import FakeTrainer
from viewer.autosave import NAME, Autosave


def _autosaves(worker, count: int, timeout: float = 10.0) -> list:
    """The steps of the next `count` autosave notices (waiting at most `timeout` for each)."""
    steps = []
    while len(steps) < count:
        notice = worker.notices.get(timeout=timeout)
        if notice.name == "autosave":
            steps.append(notice.result)
    return steps


def _stats_until(worker, predicate, tries: int = 300):
    """The first stats for which predicate holds; a hang guard of tries x 0.1 s, not a speed target."""
    for _ in range(tries):
        s = worker.stats.wait(0.1)
        if s is not None and predicate(s):
            return s
    raise AssertionError("the worker stopped training")


def test_autosave_every_few_seconds_of_training_and_once_more_on_close(tmp_path):
    trainer = FakeTrainer(step_seconds=0.01)
    autosave = Autosave(tmp_path)
    worker = TrainingWorker(trainer, stats_interval=0.02, autosave_path=autosave.path, autosave_s=0.3).start()
    saves = _autosaves(worker, 2)
    for step in saves:
        autosave.saved(step)
    assert 0 < saves[0] < saves[1] and (tmp_path / NAME).is_file()
    _stats_until(worker, lambda s: s.step > saves[-1])  # training goes on after the last one
    assert worker.stop(1.0)
    assert trainer.train_seconds >= 0.6  # the saves came by training time
    line = autosave.final(worker.trainer)
    assert line is not None and f"step {worker.trainer.step_count}" in line
    assert autosave.final(worker.trainer) is None  # nothing new since


def test_autosave_off_saves_only_on_close(tmp_path):
    trainer = FakeTrainer(step_seconds=0.01)
    autosave = Autosave(tmp_path)
    worker = TrainingWorker(trainer, stats_interval=0.02, autosave_path=autosave.path, autosave_s=0).start()
    _stats_until(worker, lambda s: s.train_seconds >= 0.5)
    assert worker.stop(1.0)
    notices = iter(lambda: None if worker.notices.empty() else worker.notices.get(), None)
    assert all(n.name != "autosave" for n in notices)
    assert not (tmp_path / NAME).exists()
    assert autosave.final(worker.trainer) is not None and (tmp_path / NAME).is_file()
