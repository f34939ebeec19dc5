"""viewer/autosave.py with the real worker and the fake trainer: saves by training time and on close."""
import time

from nerf.train.worker import TrainingWorker
from tests.support.fakes import FakeTrainer
from viewer.autosave import NAME, Autosave


def test_autosave_every_few_seconds_of_training_and_once_more_on_close(tmp_path):
    trainer = FakeTrainer(step_seconds=0.01)
    worker = TrainingWorker(trainer, stats_interval=0.02).start()
    autosave = Autosave(tmp_path, minutes=0.3 / 60)  # every 0.3 s of training
    saves, deadline = [], time.monotonic() + 10
    while len(saves) < 2 and time.monotonic() < deadline:
        autosave.poll(worker.stats.wait(0.05), worker)
        while not worker.notices.empty():
            notice = worker.notices.get_nowait()
            if notice.name == "autosave":
                saves.append(notice.result)
                autosave.saved(notice.result)
    assert len(saves) == 2 and 0 < saves[0] < saves[1] and (tmp_path / NAME).is_file()
    while (s := worker.stats.wait(0.05)) is None or s.step <= saves[-1]:  # training goes on after the last one
        assert time.monotonic() < deadline + 5
    assert worker.stop(1.0)
    line = autosave.final(worker.trainer)
    assert line is not None and f"step {worker.trainer.step_count}" in line
    assert autosave.final(worker.trainer) is None  # nothing new since


def test_autosave_off_saves_only_on_close(tmp_path):
    trainer = FakeTrainer(step_seconds=0.01)
    worker = TrainingWorker(trainer, stats_interval=0.02).start()
    autosave = Autosave(tmp_path, minutes=0)
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        autosave.poll(worker.stats.wait(0.05), worker)
    assert worker.stop(1.0)
    notices = iter(lambda: None if worker.notices.empty() else worker.notices.get(), None)
    assert all(n.name != "autosave" for n in notices)
    assert not (tmp_path / NAME).exists()
    assert autosave.final(worker.trainer) is not None and (tmp_path / NAME).is_file()
