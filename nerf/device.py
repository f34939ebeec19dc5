"""Which torch device a command line's --device names: "auto", "cpu", "cuda", "cuda:1", ...

Shared by nerf-train, the viewer and the toy lab, so a missing GPU or a misspelt name reads the same
one-line error everywhere.
"""
from __future__ import annotations

import torch

from nerf.errors import InputError


def pick_device(name: str) -> torch.device:
    """The device for `name`; "auto" is CUDA when available, else the CPU.

    Raises InputError("--device", ...) for CUDA without a CUDA device and for names torch rejects.
    """
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise InputError("--device", f"unknown device {name!r} (expected auto, cpu or cuda)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InputError("--device", "cuda requested but no CUDA device is available")
    return device


def flush_denormals() -> None:
    """Treat denormal floats as zero in this thread's CPU ops (and in the OpenMP helpers it runs).

    Adam's moments of hash-table rows that no longer receive gradients decay through the denormal
    range (below 1.2e-38), where x86 arithmetic is many times slower: the fused Adam step of the
    CPU table took 7 ms instead of 3 (BENCHMARKS.md, "Speeding up the step"). Nothing in training
    is that small on purpose. The mode is per thread, so each thread that trains calls this.
    """
    torch.set_flush_denormal(True)
