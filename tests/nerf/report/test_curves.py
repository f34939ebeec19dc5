"""nerf/report/curves.py: log.jsonl read back record by record, bad lines refused by number, and the
figure's lines holding exactly the logged values."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from PIL import Image

from nerf.errors import InputError
from nerf.report.curves import curves_figure, read_run_log, write_curves

RECORDS = [
    {"step": 1, "seconds": 0.1, "time": 1.7e9, "loss": 0.5, "psnr": 3.0, "rays_per_s": 100.0},
    {"step": 5, "seconds": 0.4, "time": 1.7e9, "loss": None, "psnr": 9.0, "rays_per_s": 120.0},  # a NaN loss
    {"step": 5, "seconds": 0.4, "test_psnr": 11.5, "test_ssim": 0.4},
    {"kind": "note", "text": "not a curve"},
    {"step": 9, "seconds": 0.8, "time": 1.7e9, "loss": 0.125, "psnr": 12.0, "rays_per_s": 130.0},
    {"step": 9, "seconds": 0.8, "test_psnr": 14.0, "test_ssim": 0.5},
]


def write_log(folder, records=RECORDS, extra_lines=()):
    folder.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(r) for r in records] + list(extra_lines)
    (folder / "log.jsonl").write_text("\n".join(lines) + "\n")
    return folder


def test_records_read_back_by_kind(tmp_path):
    run = read_run_log(write_log(tmp_path / "lego-ngp"))
    assert run.name == "lego-ngp"
    assert run.steps.tolist() == [1, 5, 9] and run.seconds.tolist() == [0.1, 0.4, 0.8]
    assert run.loss[0] == 0.5 and math.isnan(run.loss[1]) and run.loss[2] == 0.125
    assert run.psnr.tolist() == [3.0, 9.0, 12.0]
    assert run.eval_steps.tolist() == [5, 9] and run.test_psnr.tolist() == [11.5, 14.0]
    assert read_run_log(tmp_path / "lego-ngp" / "log.jsonl", "mine").name == "mine"  # the file itself


def test_only_evaluations_is_a_run_too(tmp_path):
    run = read_run_log(write_log(tmp_path / "r", [RECORDS[2]]))
    assert run.steps.shape == (0,) and run.test_psnr.tolist() == [11.5]


@pytest.mark.parametrize("bad, problem", [
    ("{not json", "line 7: not JSON"),
    ("[1, 2]", "line 7: not a JSON object"),
    ('{"step": 10, "seconds": "soon", "loss": 0.1, "psnr": 1}', "line 7: 'seconds' is 'soon', not a number"),
    ('{"step": true, "seconds": 1, "loss": 0.1, "psnr": 1}', "line 7: 'step' is 'True', not a number"),
])
def test_a_bad_line_is_refused_by_number(tmp_path, bad, problem):
    folder = write_log(tmp_path / "r", extra_lines=[bad])
    with pytest.raises(InputError) as err:
        read_run_log(folder)
    assert err.value.path == str(folder / "log.jsonl") and err.value.problem == problem


def test_missing_or_empty_logs_are_refused(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_run_log(tmp_path)
    with pytest.raises(InputError, match="has not trained yet"):
        read_run_log(write_log(tmp_path / "empty", [RECORDS[3]]))


def test_the_figure_draws_the_logged_values(tmp_path):
    a = read_run_log(write_log(tmp_path / "a"))
    b = read_run_log(write_log(tmp_path / "b", [dict(r, step=r["step"] * 2) for r in RECORDS if "step" in r]))
    fig = curves_figure([a, b])
    (loss_steps, psnr_steps), (loss_time, psnr_time) = np.array(fig.axes).reshape(2, 2)
    assert [line.get_label() for line in loss_steps.lines] == ["a", "b"]
    assert loss_steps.get_yscale() == "log"
    np.testing.assert_array_equal(loss_steps.lines[1].get_xdata(), [2, 10, 18])  # b's steps
    np.testing.assert_array_equal(loss_time.lines[0].get_xdata(), a.seconds)
    # per run: the train PSNR line, then the test evaluations as markers
    np.testing.assert_array_equal(psnr_steps.lines[0].get_ydata(), a.psnr)
    np.testing.assert_array_equal(psnr_steps.lines[1].get_xdata(), [5, 9])
    np.testing.assert_array_equal(psnr_time.lines[3].get_ydata(), b.test_psnr)
    assert psnr_steps.lines[0].get_color() != psnr_steps.lines[2].get_color()  # one colour per run


def test_write_curves_writes_a_png_and_nothing_else(tmp_path):
    out = write_curves([read_run_log(write_log(tmp_path / "a"))], tmp_path / "curves.png")
    with Image.open(out) as im:
        assert im.size == (1000, 650)
        pixels = np.asarray(im.convert("L"))
    assert pixels.std() > 5  # lines and text drawn, not a blank canvas
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "curves.png"]  # no temporary file left
