import json
import shutil
import subprocess
import sys

import pytest

from nerf.commands.train import main
from tests.support.scenes import blender_scene, llff_scene, transforms_scene


def test_inspect_json_blender(tmp_path, capsys):
    blender_scene(tmp_path)
    assert main([str(tmp_path), "--inspect", "--json"]) == 0
    out = capsys.readouterr().out
    info = json.loads(out)  # exactly one JSON object on stdout
    assert info["format"] == "blender" and info["bound"] == 1.0
    assert info["splits"]["train"]["count"] == 4 and info["splits"]["test"]["count"] == 2
    assert (info["splits"]["train"]["width"], info["splits"]["train"]["height"]) == (8, 6)
    assert info["splits"]["train"]["fx"] == pytest.approx(info["splits"]["train"]["fy"])
    assert info["memory_bytes"] == (4 + 2) * 8 * 6 * 4 * 4


def test_inspect_json_downscale_transforms(tmp_path, capsys):
    transforms_scene(tmp_path, aabb_scale=8, k1=0.05)
    assert main([str(tmp_path), "--inspect", "--json", "--downscale", "2"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["format"] == "transforms" and info["bound"] == 8.0
    assert info["splits"]["train"]["fx"] == pytest.approx(3.5)
    assert info["splits"]["test"]["count"] == 2 and info["splits"]["test"]["width"] == 4
    assert info["splits"]["test"]["distortion"][0] == pytest.approx(0.05)


def test_inspect_text_llff(tmp_path, capsys):
    llff_scene(tmp_path)
    assert main([str(tmp_path), "--inspect"]) == 0
    out = capsys.readouterr().out
    assert "llff" in out and "ndc: yes" in out and "8x6" in out


def test_inspect_error_is_one_line_exit_2(tmp_path, capsys):
    (tmp_path / "transforms.json").write_text("{oops")
    assert main([str(tmp_path), "--inspect", "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"nerf-train: error: {tmp_path / 'transforms.json'}: invalid JSON at line 1")


def test_console_script_inspect(tmp_path):
    blender_scene(tmp_path)
    exe = shutil.which("nerf-train")
    cmd = [exe] if exe else [sys.executable, "-m", "nerf.commands.train"]
    ok = subprocess.run(cmd + [str(tmp_path), "--inspect", "--json"], capture_output=True, text=True,
                        timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["splits"]["test"]["count"] == 2
    assert ok.stderr == ""


def test_inspect_warns_when_images_need_over_half_the_ram(tmp_path, capsys, monkeypatch):
    import nerf.commands.scene_report
    blender_scene(tmp_path)
    monkeypatch.setattr(nerf.commands.scene_report, "total_ram_bytes", lambda: 1000)
    assert main([str(tmp_path), "--inspect", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["memory_bytes"] > 500
    assert "warning" in captured.err and "--downscale 2" in captured.err


def test_inspect_plot_draws_the_cameras(tmp_path, capsys):
    from PIL import Image
    transforms_scene(tmp_path / "scene")
    out = tmp_path / "cams.png"
    assert main([str(tmp_path / "scene"), "--inspect", "--json", "--plot", str(out)]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["format"] == "transforms"  # stdout stays one JSON object
    assert captured.err.strip() == f"nerf-train: cameras drawn in {out}"
    with Image.open(out) as im:
        assert im.size == (1100, 500)


def test_plot_without_inspect_or_to_a_bad_path_is_one_line(tmp_path, capsys):
    transforms_scene(tmp_path / "scene")
    assert main([str(tmp_path / "scene"), "--plot", str(tmp_path / "c.png"), "--steps", "1"]) == 2
    expected = "nerf-train: error: --plot: draws a scene's cameras: use it with --inspect"
    assert capsys.readouterr().err.strip() == expected
    (tmp_path / "a_file").write_text("")
    assert main([str(tmp_path / "scene"), "--inspect", "--plot", str(tmp_path / "a_file" / "c.png")]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # refused before the scene was loaded and summarised
    err = captured.err.strip()
    assert err.startswith(f"nerf-train: error: {tmp_path / 'a_file' / 'c.png'}: cannot write") and "\n" not in err
