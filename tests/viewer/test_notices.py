"""The notice table: each worker notice reaches its handler by name, the rest the default, and the
lines they return are what the user is shown."""
from nerf.train.worker_messages import EvalScore, Notice
from viewer import notices
from viewer.notices import Notes, NoticeTable


def test_each_notice_goes_to_its_handler_by_name_and_others_to_the_default():
    shown, seen = [], []
    notes = Notes(lambda lines: shown.append(list(lines)))
    table = NoticeTable({"evaluate": notices.evaluated, "quiet": lambda n: seen.append(n.name)},
                        default=lambda n: f"default {n.name}", notes=notes)
    table.dispatch(Notice("evaluate", EvalScore(10, 25.5, 0.9, 2), 1.25))
    table.dispatch(Notice("quiet"))
    table.dispatch(Notice("model nerf", "model nerf", 0.5))
    assert notes.lines == ["test PSNR 25.50 dB (1.2 s)", "default model nerf"]
    assert seen == ["quiet"]  # a handler returning None adds no line
    assert shown[-1] == notes.lines and len(shown) == 2


def test_aborted_jobs_say_so():
    assert notices.evaluated(Notice("evaluate", None)) == "evaluation aborted"
    assert notices.saved(Notice("save", None)) == "checkpoint not saved"
    assert notices.saved(Notice("save", "/r/c.pt")) == "checkpoint: /r/c.pt"
    assert notices.budget_reached(Notice("budget", 90.0)) == "time budget reached after 1.5 min: training paused"
