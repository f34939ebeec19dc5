"""A distributed test's ranks: `world` processes on 127.0.0.1 over gloo, as torchrun would start them.

run_ranks(fn, world, *args) runs fn(group, *args) on every rank (a module-level function: the ranks
are spawned, not forked) and returns each rank's result, in rank order. The limits are hang guards: a
rank that raises fails the test with its traceback, one that outlives `timeout` is killed and fails it.
"""
from __future__ import annotations

import os
import pickle
import queue
import time
import traceback

import torch.multiprocessing as mp

from nerf.distributed.group import join, leave
from nerf.distributed.launch import free_port

COLLECTIVE_TIMEOUT_S = 60.0  # inside a test, a collective that waits longer is a hang


def rank_env(rank: int, world: int, port: int) -> dict[str, str]:
    return {"RANK": str(rank), "WORLD_SIZE": str(world), "LOCAL_RANK": str(rank), "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(port)}


def _rank_main(fn, rank: int, world: int, port: int, args: tuple, results) -> None:
    os.environ.update(rank_env(rank, world, port))
    import torch
    torch.set_num_threads(1)  # two ranks on a shared 2-core machine; also the same reductions everywhere
    try:
        group = join("cpu", timeout_s=COLLECTIVE_TIMEOUT_S)
        results.put((rank, True, pickle.dumps(fn(group, *args))))  # bytes: no shared memory outlives the rank
    except BaseException:  # noqa: BLE001 - every failure goes back to the test, with its traceback
        results.put((rank, False, traceback.format_exc()))
    finally:
        leave()


def run_ranks(fn, world: int, *args, timeout: float = 180.0, may_die: tuple[int, ...] = ()) -> list:
    """fn(group, *args) on each of `world` ranks -> their results in rank order (None for a rank in
    `may_die` that ended without one)."""
    ctx = mp.get_context("spawn")
    results = ctx.Queue()
    port = free_port()
    procs = [ctx.Process(target=_rank_main, args=(fn, r, world, port, args, results), daemon=True)
             for r in range(world)]
    for p in procs:
        p.start()
    got: dict[int, object] = {}
    errors = []
    deadline = time.monotonic() + timeout
    try:
        while len(got) + len(errors) < world and time.monotonic() < deadline:
            try:
                rank, ok, payload = results.get(timeout=0.5)
            except queue.Empty:
                if not any(p.is_alive() for p in procs) and results.empty():
                    break  # every rank ended: what they sent is all there is
                continue
            if ok:
                got[rank] = pickle.loads(payload)
            else:
                errors.append(f"rank {rank}:\n{payload}")
    finally:
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.kill()
                p.join()
    missing = [r for r in range(world) if r not in got and r not in may_die]
    if missing and not errors:
        errors.append(f"ranks {missing} gave no result within {timeout:.0f} s")
    if errors:
        raise AssertionError("\n".join(errors))
    return [got.get(r) for r in range(world)]
