"""viewer/panels/training.py: the test line and its generalisation warning, without a window and in the
real app under Xvfb."""
import pytest

from nerf.train.worker_messages import EvalScore
from tests.support.scenes import gap_capture
from tests.support.xdriver import press, viewer_without_help, wait_state
from viewer.panels.training import evaluation_line


def test_the_test_line_warns_when_training_psnr_is_far_above_the_held_out_one():
    steps = tuple(range(1, 101))
    history = (steps, (0.01,) * 100, (25.0,) * 50 + (40.0,) * 50)  # records after step 50 come after the evaluation
    quiet = evaluation_line(EvalScore(50, 22.0, 0.8, 3), history, "unbounded")
    assert quiet == "test PSNR 22.00 dB (step 50, 3 views)"
    loud = evaluation_line(EvalScore(50, 6.8, 0.3, 3), history, "unbounded")
    first, second = loud.split("\n")
    assert first == "test PSNR 6.80 dB (step 50, 3 views)"
    assert second.startswith("warning: training PSNR 25.0 dB but 6.8 dB on held-out views (a 18.2 dB gap)")
    assert "--distortion" in second
    assert evaluation_line(EvalScore(0, 6.8, 0.3, 3), ((), (), ()), None) == "test PSNR 6.80 dB (step 0, 3 views)"


@pytest.mark.gui
def test_the_viewer_shows_the_warning_after_an_evaluation(xdisplay, tmp_path):
    scene = gap_capture(tmp_path / "scene", test_noise=True)
    argv = [str(scene), "--device", "cpu", "--batch-rays", "64"]
    with viewer_without_help(xdisplay, tmp_path, argv) as (app, env, debug):
        wait_state(debug, app, lambda s: s["stats"].get("step", 0) >= 3, 120, "three training steps")
        press(env, "t")
        s = wait_state(debug, app, lambda s: "held-out" in s.get("test", ""), 120, "the warning")
        assert s["test"].startswith("test PSNR ") and "\nwarning: training PSNR " in s["test"]
