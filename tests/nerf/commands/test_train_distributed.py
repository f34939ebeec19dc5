"""nerf-train over several processes (issue 27): --nproc, torchrun's two-node rendezvous, resuming
across world sizes, ranks that disagree, a rank killed mid-run. CPU, gloo, 127.0.0.1.

Each run is the real command in subprocesses with this checkout first on the path; the time limits
guard against hangs only (a test waits for what the processes print or for their exit). Error lines
are picked by their "nerf-train: error" prefix: under load gloo logs its connection retries too."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from nerf.data.generated.synthetic import write_synthetic_scene
from nerf.train.checkpoint import read_checkpoint
from nerf.train.run import load_trained
from tests.support.processes import read_stderr_until, signal_and_wait
from tests.support.ranks import free_port, rank_env

ROOT = Path(__file__).resolve().parents[3]
ENV = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
FAST = ["--batch-rays", "64", "--video-frames", "2", "--eval-views", "2", "--threads", "1"]
LIMIT = 240  # seconds: a hang guard for one distributed run on a busy 2-core machine


@pytest.fixture(scope="module")
def scene_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("scene")
    write_synthetic_scene(root, n_train=6, n_test=2, size=16)
    return root


def _train(*args, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nerf.commands.train", *map(str, args)], env=env or ENV,
                          capture_output=True, text=True, timeout=LIMIT)


def _rank(rank: int, world: int, port: int, *args) -> subprocess.Popen:
    """One rank started as torchrun starts it (its environment), without torchrun's agent."""
    return subprocess.Popen([sys.executable, "-m", "nerf.commands.train", *map(str, args)],
                            env={**ENV, **rank_env(rank, world, port)}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _metrics(out: Path) -> dict:
    return json.loads((out / "metrics.json").read_text())


@pytest.mark.slow  # ~45 s: three runs, two of them over 2 ranks
def test_nproc_trains_over_2_ranks_and_its_checkpoint_resumes_on_1_and_on_2(scene_dir, tmp_path):
    out = tmp_path / "run"
    done = _train(scene_dir, "--nproc", "2", "--steps", "4", "--out", out, *FAST)
    assert done.returncode == 0, done.stderr
    assert "2 ranks (gloo)" in done.stderr
    m = _metrics(out)
    assert (m["world_size"], m["steps"], m["test_views"]) == (2, 4, 2)
    assert m["backend"] == "gloo" and 0 < m["collective_seconds"] and 0 < m["collective_share"] < 1
    assert sorted(p.name for p in (out / "test").iterdir()).__len__() == 2 and (out / "turntable.mp4").is_file()
    assert load_trained(out / "checkpoint.pt").step_count == 4  # a plain checkpoint: no ranks in it
    done = _train("--resume", out / "checkpoint.pt", "--steps", "2", "--out", out, *FAST[2:])  # 2 -> 1
    assert done.returncode == 0, done.stderr
    assert (_metrics(out)["world_size"], _metrics(out)["steps"]) == (1, 6)
    done = _train("--resume", out / "checkpoint.pt", "--steps", "2", "--nproc", "2", "--out", out, *FAST[2:])
    assert done.returncode == 0, done.stderr  # 1 -> 2
    assert (_metrics(out)["world_size"], _metrics(out)["steps"]) == (2, 8)
    records = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    steps = [r["step"] for r in records if "test_psnr" not in r]
    assert steps == sorted(steps) and steps[-1] == 8  # one log, written by rank 0 alone, across all three
    assert [r["step"] for r in records if "test_psnr" in r] == [4, 6, 8]


def test_ranks_given_different_flags_all_refuse_with_one_line(scene_dir, tmp_path):
    port = free_port()
    ranks = [_rank(r, 2, port, scene_dir, "--steps", "2", "--seed", r, "--out", tmp_path / "run", *FAST)
             for r in range(2)]
    results = [p.communicate(timeout=LIMIT) for p in ranks]
    assert [p.returncode for p in ranks] == [2, 2]
    errors = [line for line in results[0][1].splitlines() if line.startswith("nerf-train: error")]
    assert errors == ["nerf-train: error: rank 1: --seed is 1 but rank 0 has 0; every rank must run the same "
                      "command on the same scene"], results[0][1]
    assert "Traceback" not in results[1][1] and not (tmp_path / "run" / "checkpoint.pt").exists()


def test_a_killed_rank_ends_the_run_with_one_line_and_a_checkpoint_that_loads(scene_dir, tmp_path):
    port, out = free_port(), tmp_path / "run"
    ranks = [_rank(r, 2, port, scene_dir, "--steps", "100000", "--autosave", "0.001", "--out", out, *FAST)
             for r in range(2)]
    try:
        read_stderr_until(ranks[0], lambda line: line.startswith("step "), timeout=LIMIT)
        ranks[1].send_signal(signal.SIGKILL)
        _, stderr = ranks[0].communicate(timeout=LIMIT)  # a hang would fail here: the group's timeout bounds it
    finally:
        for p in ranks:
            if p.poll() is None:
                p.kill()
            p.wait()
    assert ranks[0].returncode == 1
    errors = [line for line in stderr.splitlines() if line.startswith("nerf-train: error")]
    assert len(errors) == 1 and f"rank 0: rank 1 (pid {ranks[1].pid}) ended, the run stops" in errors[0], stderr
    assert "checkpoint saved at step" in errors[0]
    assert read_checkpoint(out / "checkpoint.pt")["state"]["step"] >= 1


def test_two_torchrun_agents_on_one_machine_train_as_two_nodes(scene_dir, tmp_path):
    endpoint, out = f"127.0.0.1:{free_port()}", tmp_path / "run"
    agents = [subprocess.Popen([sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--nproc-per-node",
                                "1", "--rdzv-backend", "c10d", "--rdzv-endpoint", endpoint, "--rdzv-id", "nodes",
                                "-m", "nerf.commands.train", str(scene_dir), "--steps", "3", "--out", str(out), *FAST],
                               env={**ENV, "OMP_NUM_THREADS": "1"}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True) for _ in range(2)]
    try:
        results = [a.communicate(timeout=LIMIT) for a in agents]
    finally:
        for a in agents:
            if a.poll() is None:
                a.kill()
            a.wait()
    assert [a.returncode for a in agents] == [0, 0], results
    m = _metrics(out)
    assert (m["world_size"], m["steps"]) == (2, 3)


def test_sigterm_to_nproc_stops_every_rank_after_the_same_step_and_saves(scene_dir, tmp_path):
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "nerf.commands.train", str(scene_dir), "--nproc", "2",
                             "--steps", "100000", "--out", str(out), *FAST], env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    early = read_stderr_until(proc, lambda line: line.startswith("step "), timeout=LIMIT)
    stderr = early + signal_and_wait(proc, signal.SIGTERM, timeout=LIMIT)
    assert proc.returncode == 143, stderr
    stopped = [line for line in stderr.splitlines() if "stopped by SIGTERM" in line]
    assert len(stopped) == 1 and "Traceback" not in stderr, stderr  # rank 0's line alone
    step = int(stopped[0].split(" at step ")[1].split(";")[0])
    assert read_checkpoint(out / "checkpoint.pt")["state"]["step"] == step


def _worker_of_rank(agent_pid: int, rank: int) -> int:
    """The pid of torchrun's worker `rank`, among the agent's children (Linux /proc)."""
    children = Path(f"/proc/{agent_pid}/task/{agent_pid}/children").read_text().split()
    for pid in children:
        env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        if f"RANK={rank}".encode() in env:
            return int(pid)
    raise AssertionError(f"no worker of rank {rank} among {children}")


@pytest.mark.slow  # ~35 s: two attempts of a 2-rank run
@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="finds torchrun's workers through /proc")
def test_torchrun_restarts_a_killed_rank_and_the_job_goes_on_from_the_last_autosave(scene_dir, tmp_path):
    out = tmp_path / "run"
    agent = subprocess.Popen([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                              "--max-restarts", "1", "-m", "nerf.commands.train", str(scene_dir), "--steps", "40",
                              "--autosave", "0.001", "--out", str(out), *FAST],
                             env={**ENV, "OMP_NUM_THREADS": "1"}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    try:
        early = read_stderr_until(agent, lambda line: line.startswith("step "), timeout=LIMIT)
        os.kill(_worker_of_rank(agent.pid, 1), signal.SIGKILL)
        _, stderr = agent.communicate(timeout=LIMIT)
    finally:
        if agent.poll() is None:
            agent.kill()
        agent.wait()
    assert agent.returncode == 0, early + stderr
    assert (early + stderr).count(" train views, ") == 2 and "rank 1 (pid" in stderr  # a second attempt ran
    saved = int(stderr.split("checkpoint saved at step ")[1].split(":")[0])
    assert f"step {saved + 1}/40" in stderr  # ... from the checkpoint rank 0 saved when rank 1 was lost
    assert _metrics(out)["steps"] == 40  # the first attempt's budget, not 40 more after the checkpoint
    records = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "test_psnr" in r] == [40]
