"""nerf/report/generalisation.py: the train/held-out gap and its warning."""
import math

import pytest

from nerf.report.generalisation import GAP_WARN_DB, TRAIN_WINDOW, judge, recent_train_psnr


def test_recent_train_psnr_is_the_mean_of_the_last_finite_records():
    steps = list(range(1, 41))
    psnrs = [10.0] * 8 + [20.0] * 31 + [math.nan]  # the last 32 finite ones: 1 x 10 and 31 x 20
    assert recent_train_psnr(steps, psnrs) == pytest.approx((10.0 + 31 * 20.0) / TRAIN_WINDOW)
    assert recent_train_psnr(steps, psnrs, at_step=4) == pytest.approx(10.0)  # records after the evaluation left out
    assert recent_train_psnr(steps, psnrs, window=2) == pytest.approx(20.0)
    assert recent_train_psnr([], []) is None and recent_train_psnr([1], [math.nan]) is None


def test_a_small_gap_is_quiet_and_a_large_one_says_what_to_try():
    quiet = judge(27.0, 25.0, "unbounded")
    assert quiet.gap == pytest.approx(2.0) and quiet.warning is None
    loud = judge(25.0, 6.8, "unbounded")  # issue 24's white-backdrop capture with --distortion 0
    assert loud.gap == pytest.approx(18.2)
    assert "25.0 dB" in loud.warning and "6.8 dB" in loud.warning and "18.2 dB gap" in loud.warning
    assert "--distortion" in loud.warning and "--scene-type bounded" in loud.warning
    assert "\n" not in loud.warning
    assert "--scene-type unbounded" in judge(30.0, 20.0, "bounded").warning
    assert "more views" in judge(30.0, 20.0, None).warning
    assert judge(20.0 + GAP_WARN_DB, 20.0).warning is None  # the threshold itself does not warn
    assert judge(20.0 + GAP_WARN_DB + 0.01, 20.0).warning is not None


def test_no_training_record_means_no_verdict():
    v = judge(None, 20.0)
    assert v.gap is None and v.warning is None
    assert v.to_json() == {"train_psnr": None, "generalisation_gap": None, "generalisation_warning": None}
    assert judge(float("nan"), 20.0).gap is None
