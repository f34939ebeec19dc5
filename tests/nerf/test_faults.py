"""Fault injection: a process killed while it writes a checkpoint, a full disk, a checkpoint that
carries a pickle payload, SIGINT and SIGTERM to nerf-train while it trains and while it loads.

The real command runs in a subprocess (python -m nerf.commands.train, with this checkout first on
the path) wherever the fault is a process's fate: a kill, a signal, a file-size limit. Each waits
for what the process prints, never for the clock; its time limits only guard against a hang.
"""
from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from nerf.commands.train import main
from nerf.data.generated.synthetic import write_synthetic_scene
from nerf.errors import InputError
from nerf.train.checkpoint import read_checkpoint
from nerf.train.run import load_trained
from tests.support.processes import read_stderr_until, signal_and_wait

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
FAST = ["--batch-rays", "64", "--video-frames", "0", "--eval-views", "1", "--threads", "1"]


@pytest.fixture(scope="module")
def scene_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("scene")
    write_synthetic_scene(root, n_train=6, n_test=1, size=16)
    return root


def _train(*args, preexec_fn=None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "nerf.commands.train", *map(str, args)], env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=preexec_fn)


def _temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.replace("\r", "\n").splitlines() if "error" in line or "Traceback" in line]


def test_a_kill_in_the_middle_of_a_checkpoint_write_keeps_the_previous_checkpoint(scene_dir, tmp_path):
    # The kernel itself kills the process half-way through its second save: with a file-size limit
    # of half a checkpoint and SIGXFSZ at its default action (Python ignores it), the write that
    # crosses the limit ends the process on the spot, as SIGKILL would, with no Python cleanup.
    out = tmp_path / "run"
    out.mkdir()
    script = textwrap.dedent(f"""
        import os, resource, signal
        from nerf.data.formats.registry import load_scene
        from nerf.train.trainer import Trainer, TrainConfig
        trainer = Trainer(load_scene({str(scene_dir)!r}), TrainConfig.tuned("ngp", "cpu", model=dict(log2_table=18)))
        path = {str(out / "checkpoint.pt")!r}
        trainer.meta["save"] = 0
        trainer.save(path)
        limit = os.path.getsize(path) // 2
        print(limit, flush=True)
        resource.setrlimit(resource.RLIMIT_CORE, (0, resource.getrlimit(resource.RLIMIT_CORE)[1]))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
        signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
        trainer.meta["save"] = 1
        trainer.save(path)
        print("the second save was not interrupted", flush=True)
    """)
    proc = subprocess.run([sys.executable, "-c", script], env=ENV, capture_output=True, text=True, timeout=300)
    assert proc.returncode == -signal.SIGXFSZ, (proc.stdout, proc.stderr)
    limit = int(proc.stdout.split()[0])
    partial = [out / name for name in _temporaries(out)]
    assert len(partial) == 1 and partial[0].stat().st_size == limit  # killed mid-write, not before it
    payload = read_checkpoint(out / "checkpoint.pt")  # whole, and of the save that finished
    assert payload["meta"]["save"] == 0
    assert load_trained(out / "checkpoint.pt").step_count == 0


def test_a_full_disk_gives_one_line_and_keeps_the_old_checkpoint(scene_dir, tmp_path):
    out = tmp_path / "run"
    first = _train(scene_dir, "--steps", "2", "--out", out, *FAST)
    assert first.wait(300) == 0, first.stderr.read()
    checkpoint = (out / "checkpoint.pt").read_bytes()
    limit = len(checkpoint) // 2  # the next checkpoint cannot be written; logs and metrics can

    def small_disk() -> None:  # EFBIG once a file passes `limit` (Python ignores SIGXFSZ)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    second = _train(scene_dir, "--steps", "3", "--resume", out / "checkpoint.pt", "--out", out, *FAST,
                    preexec_fn=small_disk)
    _, stderr = second.communicate(timeout=300)
    errors = _error_lines(stderr)
    assert second.returncode == 1 and len(errors) == 1, stderr
    assert "checkpoint.pt" in errors[0] and "File too large" in errors[0] and "previous checkpoint is kept" in errors[0]
    assert (out / "checkpoint.pt").read_bytes() == checkpoint
    assert _temporaries(out) == []


class _Payload:
    """Unpickling this runs os.system: what a malicious checkpoint would do."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_a_pickle_payload_in_a_checkpoint_never_runs(scene_dir, tmp_path, capsys):
    marker, evil = tmp_path / "pwned", tmp_path / "evil.pt"
    torch.save({"version": 2, "config": {}, "state": {"model": _Payload(marker)}}, evil)
    with pytest.raises(InputError) as info:
        read_checkpoint(evil)
    assert info.value.path == str(evil) and "\n" not in str(info.value)
    assert main([str(scene_dir), "--resume", str(evil), "--steps", "1", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("nerf-train: error: ") and str(evil) in err and "\n" not in err
    assert not marker.exists()


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"])
def test_a_signal_to_nerf_train_saves_a_checkpoint_and_exits(scene_dir, tmp_path, signum, code):
    out = tmp_path / "run"
    proc = _train(scene_dir, "--minutes", "10", "--out", out, *FAST)
    early = read_stderr_until(proc, lambda line: line.startswith("step "))  # the first progress line
    # a ten-minute run: exiting within signal_and_wait's guard means the signal ended it
    stderr = early + signal_and_wait(proc, signum)
    assert proc.returncode == code, stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith(f"nerf-train: stopped by {signal.Signals(signum).name} at step")
    assert "Traceback" not in stderr
    assert load_trained(out / "checkpoint.pt").step_count >= 1
    assert _temporaries(out) == []


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"])
def test_a_signal_while_the_scene_loads_exits_with_one_line(scene_dir, tmp_path, monkeypatch, capsys, signum, code):
    import nerf.train.run

    def slow_load(*args, **kwargs):
        os.kill(os.getpid(), signum)  # arrives while loading, as a Ctrl-C would
        time.sleep(30)
        pytest.fail("the signal did not stop the load")

    monkeypatch.setattr(nerf.train.run, "load_scene", slow_load)  # where open_run finds it
    assert main([str(scene_dir), "--steps", "1", "--out", str(tmp_path / "o")]) == code
    err = capsys.readouterr().err.strip()
    assert err == f"nerf-train: stopped by {signal.Signals(signum).name} before training; nothing written"
    assert not (tmp_path / "o").exists()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handlers restored
