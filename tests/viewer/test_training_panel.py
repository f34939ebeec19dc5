"""viewer/panels/training.py without a window: the test line and its generalisation warning."""
from nerf.train.worker_messages import EvalScore
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
