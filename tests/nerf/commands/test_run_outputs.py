"""nerf/commands/run_outputs.py: metrics.json carries the training PSNR, the train/held-out gap and, when
the gap is large, the warning (nerf.report.generalisation), which nerf-train prints; and nerf-train's
--set, the scene suite's way to try a candidate default."""
import json

import numpy as np
import pytest

from nerf.commands.train import main
from nerf.report.generalisation import GAP_WARN_DB, TRAIN_WINDOW
from tests.support.scenes import gap_capture

FAST = ["--batch-rays", "64", "--video-frames", "0"]


@pytest.mark.parametrize("test_noise", [False, True])
def test_metrics_carry_the_gap_and_a_large_one_is_a_warning(tmp_path, capsys, test_noise):
    out = tmp_path / "run"
    assert main([str(gap_capture(tmp_path / "scene", test_noise)), "--steps", "6", "--out", str(out), *FAST]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    train = [r["psnr"] for r in log if "loss" in r][-TRAIN_WINDOW:]
    assert metrics["train_psnr"] == pytest.approx(np.mean(train))
    assert metrics["generalisation_gap"] == pytest.approx(metrics["train_psnr"] - metrics["test_psnr"])
    assert metrics["scene_type"] == "unbounded"
    err = capsys.readouterr().err
    if test_noise:  # grey fitted, noise held out: ~11 dB for uniform noise against grey, far below training
        assert metrics["generalisation_gap"] > GAP_WARN_DB
        assert "--distortion" in metrics["generalisation_warning"]
        [line] = [x for x in err.splitlines() if "held-out" in x]
        assert line == f"nerf-train: warning: {metrics['generalisation_warning']}"
    else:
        assert metrics["generalisation_gap"] < GAP_WARN_DB and metrics["generalisation_warning"] is None
        assert "held-out" not in err


def test_set_overrides_reach_the_run_and_bad_ones_are_one_line(tmp_path, capsys):
    scene = gap_capture(tmp_path / "scene", test_noise=False)
    out = tmp_path / "run"
    assert main([str(scene), "--steps", "1", "--out", str(out), *FAST, "--set", "model.distortion=0.5",
                 "--set", "lr=0.02"]) == 0
    config = json.loads((out / "metrics.json").read_text())["config"]
    assert config["model"]["distortion"] == 0.5 and config["lr"] == 0.02
    capsys.readouterr()
    for pair, words in (("model.nosuch=1", "has no field 'nosuch'"), ("lr=abc", "takes float values"),
                        ("lr=nan", "not a finite number")):
        assert main([str(scene), "--steps", "1", "--out", str(tmp_path / "bad"), "--set", pair]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("nerf-train: error: --set: ") and words in err, err
    assert main([str(scene), "--steps", "1", "--resume", str(out / "checkpoint.pt"), "--set", "lr=0.1"]) == 2
    assert "a resumed run keeps its checkpoint's settings" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()
