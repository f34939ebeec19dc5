"""nerf-viewer's command line: bad input is one line and exit 2, before any window opens."""
import subprocess
import sys
from pathlib import Path

import pytest
import torch


ROOT = Path(__file__).resolve().parents[2]  # this checkout, whatever else is installed


def _run(*args, cwd, module="viewer"):
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, timeout=120,
                          cwd=cwd, env={"PATH": "/usr/bin:/bin", "DISPLAY": "", "PYTHONPATH": str(ROOT)})


# `nerf-viewer` is viewer.cli:main; `python -m viewer` runs it too.
@pytest.mark.parametrize("module", ["viewer", "viewer.cli"])
def test_missing_scene_is_one_line_and_exit_2(tmp_path, module):
    r = _run(str(tmp_path / "nope"), "--out", str(tmp_path / "run"), cwd=tmp_path, module=module)
    assert r.returncode == 2
    assert r.stderr.startswith("nerf-viewer: error: ") and str(tmp_path / "nope") in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


def test_bad_checkpoint_is_one_line_and_exit_2(tmp_path):
    bad = tmp_path / "bad.pt"
    torch.save({"not": "a checkpoint"}, bad)
    r = _run(str(bad), cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr.startswith(f"nerf-viewer: error: {bad}: ")
    assert len(r.stderr.strip().splitlines()) == 1
