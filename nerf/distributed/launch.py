"""`nerf-train --nproc N` (and `nerf-render --nproc N`): N ranks on this machine without typing torchrun.

It starts N copies of the command (less --nproc) with the environment torchrun gives its workers
(RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR=127.0.0.1 and a free MASTER_PORT, OMP_NUM_THREADS) and
waits for them. Starting them itself, not through torchrun, keeps signals exactly as for one process:
a SIGINT or SIGTERM sent to this process goes to every rank, the ranks agree to stop after the same
step, rank 0 saves the checkpoint and the exit status is 130 or 143. torchrun's own features
(restarts, several machines) are for `torchrun ... $(command -v nerf-train)` (see README).
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

MODULE = "nerf.commands.train"


def without_nproc(argv: list[str]) -> list[str]:
    """argv less its --nproc N / --nproc=N (a rank must not start ranks of its own)."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--nproc":
            skip = True
        elif not arg.startswith("--nproc="):
            out.append(arg)
    return out


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (rank 0 binds it a moment later, as torchrun --standalone does)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rank_environments(nproc: int, threads: int | None = None) -> list[dict[str, str]]:
    """The environment of each of `nproc` local ranks; `threads` torch threads each (default: the
    cores shared out)."""
    threads = threads or max(1, (os.cpu_count() or 1) // nproc)
    common = {**os.environ, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(free_port()), "WORLD_SIZE": str(nproc),
              "LOCAL_WORLD_SIZE": str(nproc), "OMP_NUM_THREADS": str(threads)}
    return [{**common, "RANK": str(r), "LOCAL_RANK": str(r)} for r in range(nproc)]


def launch_local(nproc: int, argv: list[str], threads: int | None = None, module: str = MODULE) -> int:
    """Run the command `module` (nerf-train; nerf-render: nerf.commands.render) with `argv` as `nproc`
    ranks on this machine; rank 0's exit status, or the first other rank's that failed (a killed
    rank: 128 + its signal)."""
    command = [sys.executable, "-m", module, *without_nproc(argv)]
    ranks = [subprocess.Popen(command, env=env) for env in rank_environments(nproc, threads)]

    def forward(signum, _frame) -> None:
        for rank in ranks:
            if rank.poll() is None:
                rank.send_signal(signum)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        codes = [rank.wait() for rank in ranks]
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    codes = [128 - c if c < 0 else c for c in codes]
    return codes[0] or next((c for c in codes if c), 0)
