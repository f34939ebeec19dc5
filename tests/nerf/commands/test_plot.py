"""nerf-plot (nerf/commands/plot.py) and the curves.png nerf-train leaves in its run folder."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from nerf.commands import plot, train
from nerf.data.generated.synthetic import write_synthetic_scene


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    scene = write_synthetic_scene(tmp_path_factory.mktemp("scene"), n_train=6, n_test=2, size=24)
    out = tmp_path_factory.mktemp("run")
    assert train.main([str(scene), "--steps", "3", "--batch-rays", "64", "--video-frames", "0",
                       "--eval-views", "1", "--out", str(out)]) == 0
    return out


def test_nerf_train_draws_its_curves(run_dir):
    with Image.open(run_dir / "curves.png") as im:
        assert im.size == (1000, 650) and np.asarray(im.convert("L")).std() > 5


def test_two_runs_overlay_in_one_picture(run_dir, tmp_path, capsys):
    other = tmp_path / "other"
    other.mkdir()
    (other / "log.jsonl").write_text(json.dumps({"step": 2, "seconds": 0.5, "test_psnr": 7.25, "test_ssim": 0.1}))
    out = tmp_path / "both.png"
    assert plot.main([str(run_dir), str(other / "log.jsonl"), "--out", str(out)]) == 0
    assert out.stat().st_size > 0
    err = capsys.readouterr().err
    assert f"{run_dir.name}: step 3, train PSNR" in err and "other: step 2, no training records, test PSNR 7.25" in err


def test_same_folder_names_keep_their_paths_apart(tmp_path):
    assert plot.legend_names([tmp_path / "a" / "run", tmp_path / "b" / "run" / "log.jsonl", tmp_path / "c"]) == \
        [str(tmp_path / "a" / "run"), str(tmp_path / "b" / "run"), "c"]


@pytest.mark.parametrize("args, problem", [
    (["{missing}"], "nope: no such file (a run folder holds its training log as log.jsonl)"),
    (["{run}", "--labels", "x", "y"], "--labels: 2 labels for 1 runs"),
])
def test_bad_input_is_one_line_exit_2(run_dir, tmp_path, capsys, args, problem):
    args = [a.format(missing=tmp_path / "nope", run=run_dir) for a in args]
    assert plot.main([*args, "--out", str(tmp_path / "c.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("nerf-plot: error: ") and problem in err and "\n" not in err
    assert not (tmp_path / "c.png").exists()
