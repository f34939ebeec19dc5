"""nerf/commands/run_outputs.py: metrics.json carries the training PSNR, the train/held-out gap and, when
the gap is large, the warning (nerf.report.generalisation)."""
import json

import numpy as np
import pytest
from PIL import Image

from nerf.commands.train import main
from nerf.report.generalisation import GAP_WARN_DB, TRAIN_WINDOW
from tests.support.scenes import ring

FAST = ["--batch-rays", "64", "--video-frames", "0"]


def _capture(root, test_noise: bool):
    """Ten RGB frames; the loader holds out frames 0 and 8. Training frames are flat grey (a fresh model
    already fits them); held-out frames are noise when `test_noise`, which no model can predict."""
    rng = np.random.default_rng(0)
    frames = []
    for i, pose in enumerate(ring(10)):
        grey = np.full((12, 16, 3), 128, np.uint8)
        pixels = rng.integers(0, 256, (12, 16, 3), dtype=np.uint8) if test_noise and i % 8 == 0 else grey
        (root / "images").mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(root / "images" / f"{i:02d}.png")
        frames.append({"file_path": f"images/{i:02d}.png", "transform_matrix": pose})
    (root / "transforms.json").write_text(json.dumps({"fl_x": 14.0, "w": 16, "h": 12, "frames": frames}))
    return root


@pytest.mark.parametrize("test_noise", [False, True])
def test_metrics_carry_the_gap_and_a_large_one_is_a_warning(tmp_path, test_noise):
    out = tmp_path / "run"
    assert main([str(_capture(tmp_path / "scene", test_noise)), "--steps", "6", "--out", str(out), *FAST]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    train = [r["psnr"] for r in log if "loss" in r][-TRAIN_WINDOW:]
    assert metrics["train_psnr"] == pytest.approx(np.mean(train))
    assert metrics["generalisation_gap"] == pytest.approx(metrics["train_psnr"] - metrics["test_psnr"])
    assert metrics["scene_type"] == "unbounded"
    if test_noise:  # grey fitted, noise held out: ~11 dB for uniform noise against grey, far below training
        assert metrics["generalisation_gap"] > GAP_WARN_DB
        assert "--distortion" in metrics["generalisation_warning"]
    else:
        assert metrics["generalisation_gap"] < GAP_WARN_DB and metrics["generalisation_warning"] is None
