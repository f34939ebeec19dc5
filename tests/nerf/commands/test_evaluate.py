"""nerf-eval (nerf/commands/evaluate.py) against nerf-train's own evaluation of the same checkpoint:
same views, same names, same numbers; LPIPS from generated weights, and the line when it is skipped."""
from __future__ import annotations

import json

import pytest

from nerf.commands import evaluate, train
from nerf.data.generated.synthetic import write_synthetic_scene
from tests.nerf.report.test_lpips import write_random_lpips


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    scene = write_synthetic_scene(tmp_path_factory.mktemp("scene"), n_train=6, n_test=3, size=32)
    out = tmp_path_factory.mktemp("run")
    assert train.main([str(scene), "--steps", "4", "--batch-rays", "64", "--video-frames", "0",
                       "--eval-views", "2", "--out", str(out)]) == 0
    return out


def _read(path):
    return json.loads(path.read_text())


def test_nerf_eval_gives_the_numbers_of_the_training_runs_own_evaluation(run_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "no-weights"))
    trained = _read(run_dir / "eval.json")
    assert [v["name"] for v in trained["views"]] == ["r_0", "r_1"]  # the test images' file names
    assert trained["summary"]["psnr"] == pytest.approx(_read(run_dir / "metrics.json")["test_psnr"])
    names = sorted(p.name for p in (run_dir / "test").iterdir())
    assert names == [f"{v['index']:03d}-{v['name']}-{v['psnr']:.2f}dB.png" for v in trained["views"]]

    out = tmp_path / "again.json"
    assert evaluate.main([str(run_dir / "checkpoint.pt"), "--views", "2", "--out", str(out)]) == 0
    again = _read(out)
    assert again["step"] == trained["step"] == 4
    for mine, theirs in zip(again["views"], trained["views"], strict=True):
        assert mine["name"] == theirs["name"]
        assert mine["psnr"] == pytest.approx(theirs["psnr"], abs=1e-6)
        assert mine["ssim"] == pytest.approx(theirs["ssim"], abs=1e-6)
    worst = min(again["views"], key=lambda v: v["psnr"])
    assert again["summary"]["worst_view"]["name"] == worst["name"]
    assert again["summary"]["lpips"] is None and all(v["lpips"] is None for v in again["views"])
    err = capsys.readouterr().err.splitlines()
    assert len([line for line in err if "LPIPS skipped: no weights" in line]) == 1
    assert "worst view" in err[-1]


def test_nerf_eval_scores_lpips_with_weights_from_a_file(run_dir, tmp_path, capsys):
    backbone, heads = write_random_lpips(tmp_path)
    out = tmp_path / "lpips.json"
    assert evaluate.main([str(run_dir / "checkpoint.pt"), "--views", "3", "--out", str(out),
                          "--lpips-weights", str(backbone), "--lpips-heads", str(heads)]) == 0
    scores = _read(out)
    assert scores["lpips"] == "AlexNet v0.1" and len(scores["views"]) == 3
    assert all(v["lpips"] > 0 for v in scores["views"])
    assert scores["summary"]["lpips"] == pytest.approx(sum(v["lpips"] for v in scores["views"]) / 3)
    assert "LPIPS" in capsys.readouterr().err


def test_a_bad_weights_file_is_one_line_and_exit_2(run_dir, tmp_path, capsys):
    _, heads = write_random_lpips(tmp_path)
    junk = tmp_path / "junk.pth"
    junk.write_text("nope")
    assert evaluate.main([str(run_dir / "checkpoint.pt"), "--lpips-weights", str(junk), "--lpips-heads", str(heads),
                          "--out", str(tmp_path / "e.json")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("nerf-eval: error: ") and str(junk) in err and "\n" not in err
