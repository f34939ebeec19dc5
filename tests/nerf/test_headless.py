"""nerf-train (nerf/commands/train.py, train_run.py) through its entry point: outputs, resume, one-line
errors; and the progress line it shows."""
import io
import json
import shutil

import pytest

from nerf.runtime.progress import Progress, StageBar
from nerf.runtime.stages import StageProgress
from nerf.commands.train import main
from nerf.data.generated.synthetic import write_synthetic_scene

FAST = ["--batch-rays", "64", "--video-frames", "2", "--eval-views", "1"]


@pytest.fixture(scope="module")
def scene_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("scene")
    write_synthetic_scene(root, n_train=8, n_test=2, size=24)
    return root


def test_train_writes_everything_and_resumes(scene_dir, tmp_path, capsys):
    out = tmp_path / "run"
    assert main([str(scene_dir), "--steps", "3", "--out", str(out), *FAST]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("test_psnr", "test_ssim", "steps", "train_seconds", "rays_per_second", "samples_per_ray",
                "device", "model", "peak_memory_bytes"):
        assert key in metrics, key
    assert metrics["steps"] == 3 and metrics["model"] == "ngp" and metrics["device"] == "cpu"
    assert metrics["peak_memory_bytes"] > 0 and metrics["samples_per_ray"] > 0
    [image] = (out / "test").iterdir()  # --eval-views 1: one view, named by its file and score
    assert image.name.startswith("000-r_0-") and image.name.endswith("dB.png") and image.stat().st_size > 0
    assert json.loads((out / "eval.json").read_text())["views"][0]["name"] == "r_0"
    assert (out / "turntable.mp4").stat().st_size > 0
    assert (out / "checkpoint.pt").is_file()
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    steps = [r for r in log if "loss" in r]
    assert steps[0]["step"] == 1 and steps[-1]["step"] == 3  # the first step, then at least the last
    assert all(r["seconds"] > 0 and r["rays_per_s"] > 0 for r in steps)
    assert [s["seconds"] for s in steps] == sorted(s["seconds"] for s in steps)
    assert log[-1]["step"] == 3 and log[-1]["test_psnr"] == pytest.approx(metrics["test_psnr"])
    err = capsys.readouterr().err
    assert "rays/s" in err and "\r" not in err  # progress to a pipe: plain lines, no carriage returns

    out2 = tmp_path / "resumed"
    assert main([str(scene_dir), "--steps", "2", "--out", str(out2), "--resume", str(out / "checkpoint.pt"),
                 *FAST]) == 0
    assert json.loads((out2 / "metrics.json").read_text())["steps"] == 5


def test_a_scene_without_test_views_says_its_score_is_on_training_views(scene_dir, tmp_path, capsys):
    scene = tmp_path / "no_test"
    shutil.copytree(scene_dir, scene, ignore=shutil.ignore_patterns("test", "transforms_test.json"))
    assert main([str(scene), "--steps", "2", "--out", str(tmp_path / "run"), *FAST]) == 0
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("nerf-train: training (the scene has no test views) PSNR"), last
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["test_split"] == "train"


def test_bad_scene_one_line_exit_2(tmp_path, capsys):
    assert main([str(tmp_path / "nope"), "--steps", "1", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("nerf-train: error: ") and "\n" not in err


def test_bad_checkpoint_one_line_exit_2(scene_dir, tmp_path, capsys):
    bad = tmp_path / "bad.pt"
    bad.write_text("garbage")
    assert main([str(scene_dir), "--resume", str(bad), "--steps", "1", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("nerf-train: error: ") and str(bad) in err and "\n" not in err


def test_unwritable_log_warns_once_and_training_goes_on(scene_dir, tmp_path, capsys):
    out = tmp_path / "run"
    (out / "log.jsonl").mkdir(parents=True)  # a folder where the log file should be
    assert main([str(scene_dir), "--steps", "2", "--out", str(out), *FAST]) == 0
    assert json.loads((out / "metrics.json").read_text())["steps"] == 2
    warnings = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "log.jsonl" in warnings[0]


def test_progress_rewrites_one_line_and_pads_over_a_longer_one():
    out = io.StringIO()
    progress = Progress(out, live=True)  # as on a terminal
    progress.show("step 10 long text", force=True)
    progress.show("step 11")  # too soon after the last: skipped
    progress.show("step 12", force=True)
    progress.done()
    assert out.getvalue() == "\rstep 10 long text" + "\rstep 12" + " " * 10 + "\n"


def test_stage_bar_writes_each_finished_stage_once_to_a_log_and_redraws_on_a_terminal():
    stages = [StageProgress("features", 1, 3, 0.5), StageProgress("features", 3, 3, 1.5, finished=True),
              StageProgress("matching", 0, 3, 0.0), StageProgress("matching", 3, 3, 2.0, finished=True)]
    log = io.StringIO()
    bar = StageBar(log)
    for p in stages:
        bar(p)
    assert log.getvalue() == stages[1].line() + "\n" + stages[3].line() + "\n"
    terminal = io.StringIO()
    bar = StageBar(terminal)
    bar.progress.live = True
    for p in stages:
        bar(p)
    assert terminal.getvalue().startswith("\r" + stages[0].line()) and terminal.getvalue().endswith("done\n")
    assert terminal.getvalue().count("\n") == 2


def test_progress_to_a_log_writes_plain_lines_now_and_then():
    out = io.StringIO()  # not a terminal
    progress = Progress(out)
    progress.show("step 1")
    progress.show("step 2")  # within LOG_SECONDS of the last line: skipped
    progress.show("step 3", force=True)
    progress.done()
    assert out.getvalue() == "step 1\nstep 3\n"


@pytest.mark.parametrize("flag", [["--seed", "3"], ["--model", "nerf"], ["--batch-rays", "128"]])
def test_flags_that_cannot_apply_on_resume_are_refused_in_one_line(scene_dir, tmp_path, capsys, flag):
    out = tmp_path / "run"
    assert main([str(scene_dir), "--steps", "1", "--out", str(out), *FAST]) == 0
    capsys.readouterr()
    resumed = [str(scene_dir), "--resume", str(out / "checkpoint.pt"), "--steps", "1", "--out", str(tmp_path / "r")]
    assert main([*resumed, *flag]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"nerf-train: error: {flag[0]}: ") and "cannot apply on resume" in err and "\n" not in err
    assert main([*resumed, "--batch-rays", "64", "--seed", "0", "--model", "ngp"]) == 0  # the run's own values


def test_resume_without_a_scene_uses_the_checkpoints_scene(scene_dir, tmp_path):
    out = tmp_path / "run"
    assert main([str(scene_dir), "--steps", "1", "--out", str(out), *FAST]) == 0
    assert main(["--resume", str(out / "checkpoint.pt"), "--steps", "1", "--out", str(tmp_path / "r"), *FAST[2:]]) == 0
    assert json.loads((tmp_path / "r" / "metrics.json").read_text())["scene"] == str(scene_dir)


def test_an_out_that_holds_a_run_is_refused_unless_resumed_or_overwritten(scene_dir, tmp_path, capsys):
    out = tmp_path / "run"
    assert main([str(scene_dir), "--steps", "2", "--out", str(out), *FAST]) == 0
    before = (out / "checkpoint.pt").read_bytes()
    capsys.readouterr()
    assert main([str(scene_dir), "--steps", "1", "--out", str(out), *FAST]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"nerf-train: error: {out}: holds another run") and "--overwrite" in err
    assert (out / "checkpoint.pt").read_bytes() == before  # nothing touched
    # continuing the run's own checkpoint in its own folder appends to its log
    assert main(["--resume", str(out / "checkpoint.pt"), "--steps", "1", "--out", str(out), *FAST[2:]]) == 0
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log if "test_psnr" in r] == [2, 3]
    assert main([str(scene_dir), "--steps", "1", "--out", str(out), "--overwrite", *FAST]) == 0
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log if "test_psnr" in r] == [1]  # a new run, a log of its own


def test_an_error_mid_run_saves_the_checkpoint_and_names_the_traceback(scene_dir, tmp_path, capsys, monkeypatch):
    from nerf.train.trainer import Trainer
    real = Trainer.step

    def failing(self, should_yield=None):
        if self.step_count == 3:
            raise RuntimeError("CUDA error: an illegal memory access was encountered")
        return real(self, should_yield)
    monkeypatch.setattr(Trainer, "step", failing)
    monkeypatch.setenv("NERF_VIEWER_TRACE_DIR", str(tmp_path))
    out = tmp_path / "run"
    assert main([str(scene_dir), "--steps", "10", "--out", str(out), *FAST]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("nerf-train: error: training failed (RuntimeError: CUDA error") and "step 3" in err
    trace = err.rsplit("the traceback is in ", 1)[1]
    assert "illegal memory access" in open(trace).read()
    monkeypatch.setattr(Trainer, "step", real)
    from nerf.train.run import load_trained
    assert load_trained(out / "checkpoint.pt").step_count == 3  # what was trained is kept


def test_nerf_train_autosaves_by_training_time(scene_dir, tmp_path, monkeypatch):
    from nerf.train.trainer import Trainer
    saves = []
    real = Trainer.save
    monkeypatch.setattr(Trainer, "save", lambda self, path: (saves.append(self.step_count), real(self, path)))
    out = tmp_path / "run"
    assert main([str(scene_dir), "--steps", "6", "--out", str(out), "--autosave", "0.000001", *FAST]) == 0
    assert saves[:-1] == [1, 2, 3, 4, 5, 6] and saves[-1] == 6  # every step here, then the final save


@pytest.mark.parametrize("flag", [["--steps", "0"], ["--minutes", "nan"], ["--minutes", "-1"], ["--threads", "-1"],
                                  ["--batch-rays", "-5"], ["--eval-views", "0"], ["--downscale", "0"],
                                  ["--distortion", "inf"], ["--seed", "1e3"], ["--autosave", "-2"],
                                  ["--video-frames", "99999999"], ["--device", "gpu"]])
def test_bad_numbers_are_one_argparse_line_and_exit_2(flag, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(flag)
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("nerf-train: error: argument ") and "Traceback" not in "".join(err)
