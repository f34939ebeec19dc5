"""The process group of a distributed run, read from torchrun's environment.

torchrun (and `nerf-train --nproc N`, which starts it) gives each process RANK, WORLD_SIZE,
LOCAL_RANK, MASTER_ADDR and MASTER_PORT. CPU runs talk over gloo, CUDA runs over NCCL with one GPU
per local rank. Every collective carries a bounded timeout: a rank that hangs or dies ends the
others' wait with an error instead of a job that never returns.
"""
from __future__ import annotations

import contextlib
import datetime
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Mapping

import torch
import torch.distributed as dist

from nerf.device import pick_device
from nerf.errors import InputError

ENV_KEYS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")
DEFAULT_TIMEOUT_S = 120.0  # longest wait in one collective: far past any step, eval view or occupancy refresh


@dataclass(frozen=True)
class Group:
    """This process's place in the run."""

    rank: int
    world: int
    local_rank: int  # rank on this machine: picks the GPU
    device: torch.device
    backend: str  # "gloo" | "nccl"
    timeout_s: float

    @property
    def is_main(self) -> bool:
        """Rank 0: the one that writes files and prints progress."""
        return self.rank == 0


class RankLost(RuntimeError):
    """A collective failed: another rank ended, hung past the timeout or cannot be reached."""


@contextlib.contextmanager
def collective() -> Iterator[None]:
    """Around a collective call: its failure (gloo's RuntimeError "Connection closed by peer", a
    timeout, NCCL's DistBackendError) becomes a RankLost, told apart from this rank's own errors."""
    try:
        yield
    except (RuntimeError, dist.DistError) as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        # gloo's lines start with its source location: "[.../pair.cc:553] Connection closed by peer ..."
        raise RankLost(re.sub(r"^\[[^\]]*\]\s*", "", first).split(". ")[0][:160]) from exc


def launched(env: Mapping[str, str] = os.environ) -> bool:
    """Whether torchrun (or a test harness acting like it) started this process."""
    return all(k in env for k in ENV_KEYS)


def _env_int(env: Mapping[str, str], key: str, low: int) -> int:
    try:
        value = int(env[key])
    except ValueError:
        value = low - 1
    if value < low:
        raise InputError(key, f"environment variable is {env[key]!r}, expected an integer >= {low}")
    return value


def rank_device(device_name: str, local_rank: int) -> torch.device:
    """The device of a rank: "auto" and "cuda" take GPU `local_rank`; an explicit cuda:N is kept
    (one GPU per machine with several nodes on it); cpu stays cpu."""
    device = pick_device(device_name)
    if device.type != "cuda" or device.index is not None:
        return device
    if local_rank >= torch.cuda.device_count():
        raise InputError("--nproc", f"local rank {local_rank} has no GPU ({torch.cuda.device_count()} on this "
                                    "machine); start at most one process per GPU")
    return torch.device("cuda", local_rank)


def join(device_name: str = "auto", timeout_s: float = DEFAULT_TIMEOUT_S) -> Group:
    """Join the run described by torchrun's environment (see `launched`)."""
    env = os.environ
    rank, world = _env_int(env, "RANK", 0), _env_int(env, "WORLD_SIZE", 1)
    local_rank = _env_int(env, "LOCAL_RANK", 0)
    if rank >= world:
        raise InputError("RANK", f"is {rank} but WORLD_SIZE is {world}")
    device = rank_device(device_name, local_rank)
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        timeout = datetime.timedelta(seconds=timeout_s)
        dist.init_process_group(backend, store=_store(env, rank, world, timeout), rank=rank, world_size=world,
                                timeout=timeout)
    return Group(rank, world, local_rank, device, backend, timeout_s)


def _store(env: Mapping[str, str], rank: int, world: int, timeout: datetime.timedelta) -> dist.Store:
    """The key-value store the ranks meet in: a torchrun agent's own (its workers are told so), else
    one that rank 0 serves. Keys are kept apart per attempt: after a failure torchrun --max-restarts
    starts the ranks again on the same agent store, where a new rank would otherwise read the dead
    ranks' addresses."""
    agent = env.get("TORCHELASTIC_USE_AGENT_STORE", "").lower() == "true"
    store = dist.TCPStore(env["MASTER_ADDR"], _env_int(env, "MASTER_PORT", 1), world, is_master=rank == 0 and not agent,
                          timeout=timeout)
    return dist.PrefixStore(f"nerf-train/attempt-{env.get('TORCHELASTIC_RESTART_COUNT', '0')}", store)


def leave() -> None:
    """End this process's part of the group (a no-op when it has none). The ranks leave together:
    a rank that tore its part down while rank 0 still wrote the outputs (gloo's threads still
    talking to it) died in std::terminate, exit status 134, on a quiet machine."""
    if not (dist.is_available() and dist.is_initialized()):
        return
    try:
        dist.barrier()
    except Exception:  # noqa: BLE001 - a peer already gone: nothing to wait for, leave anyway
        pass
    dist.destroy_process_group()


def end_rank(code: int) -> None:
    """End a rank's process now with `code`, once everything is written and the group left: the
    interpreter's own teardown, where gloo's and the store's threads can still be running, ended
    in std::terminate (exit status 134) on a quiet machine."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
