"""Every rank must run the same command on the same scene: checked once, at the start.

Each rank describes what it was given (its flags, its scene's fingerprint and space, or the one-line
error it met loading them) and all ranks exchange the descriptions. Any difference, or any rank's
error, makes every rank refuse with the same line: a rank launched with another --seed or on another
copy of the scene would otherwise train a different model and average its gradients in silently.
"""
from __future__ import annotations

import torch.distributed as dist

from nerf.errors import InputError


def check_same_run(facts: dict, world: int) -> None:
    """InputError, the same on every rank, unless every rank's `facts` equal rank 0's and none holds
    an "error" (the one line a rank's own start failed with). `facts` must pickle."""
    everyone: list[dict | None] = [None] * world
    dist.all_gather_object(everyone, facts)
    for rank, theirs in enumerate(everyone):
        if theirs.get("error"):
            raise InputError(f"rank {rank}", theirs["error"])
    first = everyone[0]
    for rank, theirs in enumerate(everyone[1:], start=1):
        for key in sorted(set(first) | set(theirs)):
            if theirs.get(key) != first.get(key):
                raise InputError(f"rank {rank}", f"{key} is {theirs.get(key)!r} but rank 0 has {first.get(key)!r}; "
                                                 "every rank must run the same command on the same scene")
