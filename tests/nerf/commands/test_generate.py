"""nerf/commands/generate.py: the generated scenes' command line."""
import json

import pytest

from nerf.commands.generate import main


def test_synthetic_needs_an_output_and_writes_a_scene(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["synthetic"])
    assert exc.value.code == 2 and "--out" in capsys.readouterr().err
    assert main(["synthetic", "--out", str(tmp_path / "s"), "--n-train", "2", "--n-test", "1", "--size", "8"]) == 0
    assert len(json.loads((tmp_path / "s" / "transforms_train.json").read_text())["frames"]) == 2


def test_unbounded_writes_a_capture(tmp_path):
    assert main(["unbounded", "--out", str(tmp_path / "u"), "--n-frames", "2", "--width", "8", "--height", "6",
                 "--supersample", "1"]) == 0
    meta = json.loads((tmp_path / "u" / "transforms.json").read_text())
    assert len(meta["frames"]) == 2 and (tmp_path / "u" / meta["frames"][1]["file_path"]).is_file()


@pytest.mark.parametrize("argv, words", [
    (["synthetic", "--out", "x", "--size", "0"], "--size: must be >= 1"),
    (["unbounded", "--out", "x", "--width", "nan"], "--width: expected an integer"),
    (["unbounded", "--out", "x", "--supersample", "99"], "--supersample: must be <= 16"),
    (["unbounded"], "--out"),
    ([], "required"),
])
def test_bad_flags_are_one_line_exit_2(argv, words, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert exc.value.code == 2 and words in err, err


def test_an_unwritable_folder_is_one_line_exit_2(tmp_path, capsys):
    (tmp_path / "blocker").write_text("x")
    assert main(["unbounded", "--out", str(tmp_path / "blocker" / "u"), "--n-frames", "1", "--width", "4",
                 "--height", "4", "--supersample", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("python -m nerf.commands.generate: error: ") and "blocker" in err


@pytest.mark.parametrize("kind", ["ring360", "walls360", "arcs360", "backdrop", "room"])
def test_suite_captures_are_written_by_the_command(tmp_path, kind):
    assert main([kind, "--out", str(tmp_path / kind), "--n-frames", "3", "--width", "8", "--height", "6",
                 "--supersample", "1"]) == 0
    meta = json.loads((tmp_path / kind / "transforms.json").read_text())
    assert len(meta["frames"]) == 3 and meta["frames"][0]["w"] == 8
    assert meta.get("aabb_scale") == (1 if kind == "backdrop" else None)
