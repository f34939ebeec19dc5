import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from toy import cli
from toy.images import generated_image


@pytest.fixture
def image_file(tmp_path):
    path = tmp_path / "tiny.png"
    Image.fromarray((generated_image(16) * 255).astype(np.uint8)).save(path)
    return path


def test_single_run_writes_everything(tmp_path, image_file):
    out = tmp_path / "run"
    rc = cli.main([str(image_file), "--size", "16", "--steps", "6", "--frames", "3", "--fraction", "0.5",
                   "--widths", "16,16", "--out", str(out)])
    assert rc == 0
    for name in ("training.gif", "training.mp4", "recon.png", "error.png", "metrics.json"):
        assert (out / name).stat().st_size > 0, name
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"train_psnr", "heldout_psnr", "params", "image_values"} <= metrics.keys()
    assert metrics["image_values"] == 16 * 16 * 3 and metrics["params"] == 20 * 16 + 16 + 16 * 16 + 16 + 16 * 3 + 3
    assert not metrics["heldout_is_train"] and metrics["pixels_trained"] == 128


def test_compare_writes_one_side_by_side_gif(tmp_path, image_file):
    out = tmp_path / "cmp"
    rc = cli.main([str(image_file), "--size", "16", "--steps", "4", "--frames", "2", "--widths", "8",
                   "--no-mp4", "--compare", "output=relu widths=8,8", "--out", str(out)])
    assert rc == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["A"]["layers"] == [20, 8, 3] and metrics["B"]["layers"] == [20, 8, 8, 3]
    assert metrics["B"]["model"]["output"] == "relu"
    assert (out / "compare.gif").exists() and not (out / "compare.mp4").exists()


def test_study_preset_runs_every_configuration(tmp_path, image_file):
    out = tmp_path / "study"
    assert cli.main([str(image_file), "--preset", "study", "--size", "12", "--steps", "2", "--frames", "2",
                     "--no-mp4", "--out", str(out)]) == 0
    summary = (out / "summary.md").read_text()
    for name in ("raw_100pct", "learned_10pct", "pe_50pct", "tiny_leaky_10pct", "output_relu", "output_leaky"):
        assert name in summary and (out / f"{name}.gif").exists()
    assert "| 9,859 |" in summary and "| 1,779 |" in summary and "| 8,707 |" in summary


def test_bad_compare_override_is_one_line_error(tmp_path, image_file, capsys):
    assert cli.main([str(image_file), "--compare", "colour=blue", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nerf-toy: error: --compare: bad override") and err.count("\n") == 1


def test_console_script_bad_image_exits_2_with_one_line(tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\x00\x01 not a jpeg")
    proc = subprocess.run([sys.executable, "-m", "toy.cli", str(bad), "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"nerf-toy: error: {bad}: not an image file (PNG or JPG expected)"


def test_ffn_preset_trains_on_even_grid_and_writes_table(tmp_path, image_file, capsys):
    out = tmp_path / "ffn"
    assert cli.main([str(image_file), "--preset", "ffn", "--size", "16", "--steps", "3", "--widths", "8",
                     "--frames", "2", "--out", str(out)]) == 0
    table = (out / "ffn.md").read_text()
    assert "Tancik et al. 2020" in table and "| tiny.png |" in table
    metrics = json.loads((out / "ffn_gauss_metrics.json").read_text())
    assert metrics["pixels_trained"] == 64 and metrics["layers"] == [512, 8, 8, 8, 3]
    assert json.loads((out / "ffn_pe_metrics.json").read_text())["layers"][0] == 64  # 16 per axis, sin+cos
    assert "no mapping" in capsys.readouterr().out


def test_an_image_over_the_pixel_limit_is_one_line_saying_how_to_raise_it(tmp_path, image_file, monkeypatch, capsys):
    monkeypatch.setenv("NERF_MAX_IMAGE_PIXELS", "100")  # the image has 16 x 16 = 256
    assert cli.main([str(image_file), "--steps", "1", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("nerf-toy: error: ") and "\n" not in err and "NERF_MAX_IMAGE_PIXELS=256" in err


@pytest.mark.parametrize("argv, words", [
    (["--device", "gpu"], "--device: expected auto, cpu, cuda or cuda:N"),
    (["--steps", "0"], "--steps: must be >= 1"),
    (["--lr", "nan"], "--lr: must be a finite number"),
    (["--fraction", "1.5"], "--fraction: must be <= 1"),
])
def test_bad_flags_are_refused_by_the_parser_in_one_line(argv, words, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert exc.value.code == 2 and words in err, err
