"""nerf-render over several processes (issue 27): frames shared out across ranks and gathered by
rank 0 in order, the same frames as one process renders; ranks that disagree refuse; a signal keeps
the frames so far; a killed rank ends the render with one line and no video. CPU, gloo, 127.0.0.1.

Each run is the real command in subprocesses with this checkout first on the path; the time limits
guard against hangs only. Error lines are picked by their "nerf-render: error" prefix."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest

from nerf.data.generated.synthetic import write_synthetic_scene
from tests.support.processes import read_stderr_until, signal_and_wait
from tests.support.ranks import free_port, rank_env

ROOT = Path(__file__).resolve().parents[3]
ENV = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}", "OMP_NUM_THREADS": "1"}
LIMIT = 240  # seconds: a hang guard on a busy 2-core machine


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    root = tmp_path_factory.mktemp("render-ranks")
    write_synthetic_scene(root / "scene", n_train=6, n_test=3, size=16)
    done = subprocess.run([sys.executable, "-m", "nerf.commands.train", str(root / "scene"), "--steps", "20",
                           "--batch-rays", "64", "--video-frames", "0", "--eval-views", "1", "--threads", "1",
                           "--out", str(root / "run")], env=ENV, capture_output=True, text=True, timeout=LIMIT)
    assert done.returncode == 0, done.stderr
    return root / "run" / "checkpoint.pt"


def _render(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nerf.commands.render", *map(str, args)], env=ENV,
                          capture_output=True, text=True, timeout=LIMIT)


def _frames(folder: Path) -> list[np.ndarray]:
    return [iio.imread(p) for p in sorted(folder.glob("*.png"))]


@pytest.mark.parametrize("what", [["--orbit", "3,1,1", "--fps", "7", "--resolution", "24x20", "--output", "depth"],
                                  ["--dataset", "test", "--with-gt"]])
def test_two_ranks_write_the_frames_one_process_writes(checkpoint, tmp_path, what):
    # 7 orbit frames and 3 test views: odd counts, so the last round has a rank with nothing to render
    one = _render(checkpoint, *what, "--out", tmp_path / "one")
    two = _render(checkpoint, *what, "--out", tmp_path / "two", "--nproc", "2")
    assert one.returncode == 0 and two.returncode == 0, (one.stderr, two.stderr)
    assert "on 2 ranks ->" in two.stderr and "Traceback" not in two.stderr
    a, b = _frames(tmp_path / "one"), _frames(tmp_path / "two")
    assert len(a) == len(b) == (7 if "--orbit" in what else 3)
    for x, y in zip(a, b, strict=True):  # the depth colours use frame 0's range on every rank
        assert x.shape == y.shape and np.abs(x.astype(int) - y.astype(int)).max() <= 1


def test_ranks_given_different_flags_refuse_before_any_frame(checkpoint, tmp_path):
    port = free_port()
    ranks = [subprocess.Popen([sys.executable, "-m", "nerf.commands.render", str(checkpoint), "--orbit", "3,1,1",
                               "--fps", "4", "--resolution", "16x16", "--output", output, "--out",
                               str(tmp_path / "video.mp4")], env={**ENV, **rank_env(r, 2, port)},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for r, output in enumerate(("rgb", "depth"))]
    results = [p.communicate(timeout=LIMIT) for p in ranks]
    assert [p.returncode for p in ranks] == [2, 2], results
    errors = [line for _, err in results for line in err.splitlines() if line.startswith("nerf-render: error")]
    assert len(errors) == 1 and "rank 1" in errors[0] and "--output is 'depth' but rank 0 has 'rgb'" in errors[0]
    assert not any(tmp_path.iterdir())  # rank 0 made no video


def test_sigint_to_nproc_keeps_the_frames_so_far(checkpoint, tmp_path):
    out = tmp_path / "frames"
    proc = subprocess.Popen([sys.executable, "-m", "nerf.commands.render", str(checkpoint), "--orbit", "3,1,100",
                             "--fps", "4", "--resolution", "32x32", "--out", str(out), "--nproc", "2"],
                            env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    early = read_stderr_until(proc, lambda line: "on 2 ranks [" in line, timeout=LIMIT)
    stderr = early + signal_and_wait(proc, signal.SIGINT, timeout=LIMIT)
    assert proc.returncode == 130, stderr
    kept = [line for line in stderr.splitlines() if "interrupted;" in line]
    assert len(kept) == 1 and "Traceback" not in stderr, stderr
    count = int(kept[0].split("; ")[1].split(" frames")[0])
    assert 2 <= count < 400 and count % 2 == 0  # whole rounds only: every rank stopped after the same one
    assert len(_frames(out)) == count


def test_a_killed_rank_ends_the_render_with_one_line_and_no_video(checkpoint, tmp_path):
    port, video = free_port(), tmp_path / "orbit.mp4"
    ranks = [subprocess.Popen([sys.executable, "-m", "nerf.commands.render", str(checkpoint), "--orbit", "3,1,100",
                               "--fps", "4", "--resolution", "32x32", "--out", str(video)],
                              env={**ENV, **rank_env(r, 2, port)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for r in range(2)]
    try:
        read_stderr_until(ranks[0], lambda line: "on 2 ranks [" in line, timeout=LIMIT)
        ranks[1].send_signal(signal.SIGKILL)
        _, stderr = ranks[0].communicate(timeout=LIMIT)  # a hang would fail here: the collectives' timeout bounds it
    finally:
        for p in ranks:
            if p.poll() is None:
                p.kill()
            p.wait()
    assert ranks[0].returncode == 1, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("nerf-render: error")]
    assert len(errors) == 1 and "rank 0: another rank stopped answering mid-render" in errors[0], stderr
    assert "no video written" in errors[0] and not any(tmp_path.iterdir())
