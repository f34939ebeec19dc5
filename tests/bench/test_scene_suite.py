"""bench/scene_suite.py: the rule that judges a default, the report, the contact sheets, the scenes it
prepares, and one real run of nerf-train on a tiny generated capture (a few steps; no timing)."""
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nerf.errors import InputError

_SPEC = importlib.util.spec_from_file_location(
    "scene_suite", Path(__file__).resolve().parents[2] / "bench" / "scene_suite.py")
suite = importlib.util.module_from_spec(_SPEC)
sys.modules["scene_suite"] = suite  # dataclasses look their module up there
_SPEC.loader.exec_module(suite)


def _result(psnrs: dict, machine="m", budget="5 min") -> dict:
    return {"meta": {"machine": machine, "budget": budget},
            "scenes": {k: ({"error": "missing"} if v is None else {"test_psnr": v}) for k, v in psnrs.items()}}


@pytest.mark.parametrize("b, accepted", [
    ({"a": 30.5, "b": 25.0, "c": 20.0}, True),  # mean up by 0.17, nothing worse
    ({"a": 31.0, "b": 24.75, "c": 20.0}, True),  # b 0.25 worse: within the limit, mean up
    ({"a": 32.0, "b": 24.6, "c": 20.0}, False),  # mean up by 0.53 but b 0.4 worse
    ({"a": 30.1, "b": 24.9, "c": 19.9}, False),  # mean down
])
def test_the_rule_mean_up_and_no_scene_more_than_0_3_worse(b, accepted):
    verdict, lines = suite.compare(_result({"a": 30.0, "b": 25.0, "c": 20.0}), _result(b))
    assert verdict is accepted
    assert lines[-1].startswith("verdict: ACCEPT") == accepted or lines[-2].startswith("verdict: ACCEPT") == accepted


def test_compare_counts_only_scenes_both_ran_and_says_when_it_is_close():
    verdict, lines = suite.compare(_result({"a": 30.0, "b": 25.0, "gone": 20.0}),
                                   _result({"a": 30.1, "b": None, "new": 28.0}, machine="other"))
    text = "\n".join(lines)
    assert verdict and "over 1 scenes" in text
    assert "left out (ran on one side only): b, gone, new" in text
    assert "differ in budget or machine" in text and "close:" in text
    assert suite.compare(_result({"a": 1.0}), _result({"b": 1.0}))[0] is False


def test_compare_command_prints_the_verdict_and_exits_by_it(tmp_path, capsys):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(_result({"x": 20.0, "y": 22.0})))
    b.write_text(json.dumps(_result({"x": 21.0, "y": 21.5})))
    assert suite.main(["--compare", str(a), str(b)]) == 1  # y is 0.5 dB worse
    out = capsys.readouterr().out
    assert "y" in out and "(-0.50)  WORSE" in out and "verdict: REJECT" in out
    assert suite.main(["--compare", str(b), str(a)]) == 1  # mean down
    (tmp_path / "bad.json").write_text("{}")
    assert suite.main(["--compare", str(a), str(tmp_path / "bad.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bad.json" in err and "not a suite.json" in err


@pytest.mark.parametrize("argv, words", [
    (["--only", "fox,nosuch"], "no scene 'nosuch'"),
    (["--set", "no_such_field=1"], "no_such_field"),
])
def test_bad_choices_fail_in_one_line_before_any_run(argv, words, tmp_path, capsys):
    assert suite.main(argv + ["--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err
    assert not (tmp_path / "o").exists()


def test_every_scene_of_the_issue_is_in_the_table():
    names = {s.name for s in suite.SCENES}
    assert names >= {"default", "lego", "fox", "fox-no-aabb", "fern", "outdoor", "ring360", "walls360", "arcs360",
                     "backdrop", "room"}
    by_name = {s.name: s for s in suite.SCENES}
    assert by_name["default"].minutes == 3 and by_name["backdrop"].minutes == 2
    assert suite.budget_minutes(by_name["default"], 5.0) == 3.0 and suite.budget_minutes(by_name["fox"], 5.0) == 5.0
    assert suite.budget_minutes(by_name["default"], 0.5) == 0.5  # a smaller --minutes caps every scene


def test_fox_copy_drops_aabb_scale_and_links_the_images(tmp_path):
    src = tmp_path / "fox"
    (src / "images").mkdir(parents=True)
    (src / "images" / "0001.jpg").write_bytes(b"x")
    (src / "transforms.json").write_text(json.dumps({"aabb_scale": 4, "fl_x": 100, "frames": []}))
    copy = suite.without_aabb_scale(src, tmp_path / "copy")
    assert json.loads((copy / "transforms.json").read_text()) == {"fl_x": 100, "frames": []}
    assert (copy / "images" / "0001.jpg").read_bytes() == b"x"
    suite.without_aabb_scale(src, tmp_path / "copy")  # again: the link is kept, nothing fails


def test_generated_scenes_are_written_once_and_missing_datasets_named(tmp_path):
    tiny = suite.SuiteScene("t", "360", "generated:arcs360", generate=dict(n_frames=4, width=8, height=6,
                                                                           supersample=1))
    folder = suite.scene_folder(tiny, tmp_path, tmp_path / "scenes")
    first = (folder / "transforms.json").stat().st_mtime_ns
    assert suite.scene_folder(tiny, tmp_path, tmp_path / "scenes") == folder
    assert (folder / "transforms.json").stat().st_mtime_ns == first  # kept, not rendered again
    bigger = suite.SuiteScene("t", "360", "generated:arcs360", generate=dict(n_frames=5, width=8, height=6,
                                                                             supersample=1))
    suite.scene_folder(bigger, tmp_path, tmp_path / "scenes")
    assert len(json.loads((folder / "transforms.json").read_text())["frames"]) == 5  # other parameters: redone
    with pytest.raises(InputError, match="dataset folder is missing"):
        suite.scene_folder(suite.SuiteScene("f", "x", "dataset:nope"), tmp_path, tmp_path / "scenes")
    assert suite.scene_folder(suite.SCENES[0], tmp_path, tmp_path) is None  # the embedded scene


def test_contact_sheet_tiles_the_test_images_enlarged(tmp_path):
    test = tmp_path / "test"
    test.mkdir()
    for i in range(5):
        Image.fromarray(np.full((10, 40, 3), 50 * i, np.uint8)).save(test / f"{i:03d}-v{i}-2{i}.00dB.png")
    sheet = suite.write_sheet(test, tmp_path / "s.png", "x: 20 dB")
    with Image.open(sheet) as im:
        pixels = np.asarray(im)
    zoom = 400 // 40
    assert im.size == (3 * 40 * zoom, 14 + 2 * (10 * zoom + 14))  # 3 columns, 2 rows, captions
    assert (pixels[14 + 14 + 5, 40 * zoom + 5] == 50).all()  # view 1, second column, first row
    with pytest.raises(InputError, match="no test images"):
        suite.write_sheet(tmp_path / "empty", tmp_path / "e.png", "x")


def test_markdown_marks_targets_and_failures():
    row = dict(kind="360", minutes=5.0, target_psnr=27.0, min_view_ssim_target=0.7, steps=100, samples_per_ray=9.5,
               train_psnr=30.0, test_psnr=26.5, gap=3.5, test_ssim=0.8, min_view_ssim=0.75, worst_view="frame_9",
               worst_view_psnr=24.0)
    result = {"meta": {"date": "d", "commit": "c", "machine": "m", "budget": "5 min", "set": []},
              "scenes": {"a": row, "b": {"kind": "x", "error": "dataset folder is missing"}}}
    md = suite.markdown(result)
    assert ("| a | 360 | 5 min | 100 | 9.5 | 30.00 | 26.50 (27 MISSED) | 3.5 | 0.800 (0.750, 0.7 ok) | "
            "frame_9 24.00 |") in md
    assert "not run: dataset folder is missing" in md and "Mean test PSNR over 1 scenes: 26.50 dB" in md


def test_one_real_run_is_reported_from_nerf_trains_files(tmp_path, capsys):
    tiny = suite.SuiteScene("tiny", "360, tiny", "generated:ring360", target_psnr=99.0, min_view_ssim=0.7,
                            generate=dict(n_frames=9, width=16, height=12, supersample=1))
    out = tmp_path / "suite"
    assert suite.main(["--steps", "4", "--eval-views", "1", "--out", str(out), "--set", "batch_rays=64"],
                      scenes=(tiny,)) == 0
    row = json.loads((out / "suite.json").read_text())["scenes"]["tiny"]
    metrics = json.loads((out / "runs" / "tiny" / "metrics.json").read_text())
    assert metrics["config"]["batch_rays"] == 64  # --set reached the run
    assert row["steps"] == 4 and row["test_views"] == 1 and row["scene_type"] == "unbounded"
    assert row["test_psnr"] == metrics["test_psnr"] and row["worst_view"] == "frame_00001"
    assert row["gap"] == pytest.approx(row["train_psnr"] - row["test_psnr"])
    assert row["samples_per_ray"] > 0 and 0 < row["min_view_ssim"] <= 1
    with Image.open(out / "sheets" / "tiny.png") as im:
        assert im.width == 32 * (400 // 32)  # one view: the 32-pixel-wide render | truth pair, enlarged
    md = (out / "suite.md").read_text()
    assert "| tiny | 360, tiny | 4 steps | 4 |" in md and "(99 MISSED)" in md and "batch_rays=64" in md
    assert md in capsys.readouterr().out
    # a run that fails is a row that says why, and the suite's exit status
    broken = suite.SuiteScene("broken", "x", "generated:ring360", ("--downscale", "99"),
                              generate=dict(n_frames=9, width=16, height=12, supersample=1))
    assert suite.main(["--steps", "1", "--out", str(out), "--scenes", str(out / "scenes")], scenes=(broken,)) == 1
    row = json.loads((out / "suite.json").read_text())["scenes"]["broken"]
    assert row["error"].startswith("nerf-train exited 2: ") and "--downscale" in row["error"]
