"""Every rank must run the same command on the same scene: checked once, at the start.

Each rank describes what it was given (its flags, its scene's fingerprint and space, or the one-line
error it met loading them) and all ranks exchange the descriptions. Any difference, or any rank's
error, makes every rank refuse with the same line: a rank launched with another --seed or on another
copy of the scene would otherwise train a different model and average its gradients in silently.

A stop signal met while loading travels in the same exchange ("stopped": the signal's number), so
every rank stops before the first step or frame together: a rank that stopped on its own after the
exchange, while another went on to its first collective, ended the other with "connection closed".
"""
from __future__ import annotations

import torch.distributed as dist

from nerf.distributed.group import collective
from nerf.errors import InputError
from nerf.runtime.signals import Stopped


def check_same_run(facts: dict, world: int, who: object = None) -> list:
    """InputError, the same on every rank, unless every rank's `facts` equal rank 0's and none holds
    an "error" (the one line a rank's own start failed with); Stopped on every rank when any rank's
    facts hold "stopped" (a signal's number); -> every rank's `who` (its host and process, to name a
    rank lost later). `facts` and `who` must pickle."""
    gathered: list[tuple | None] = [None] * world
    with collective():
        dist.all_gather_object(gathered, (facts, who))
    everyone = [f for f, _ in gathered]
    signums = [theirs["stopped"] for theirs in everyone if theirs.get("stopped")]
    if signums:
        raise Stopped(signums[0])
    for rank, theirs in enumerate(everyone):
        if theirs.get("error"):
            raise InputError(f"rank {rank}", theirs["error"])
    first = everyone[0]
    for rank, theirs in enumerate(everyone[1:], start=1):
        for key in sorted(set(first) | set(theirs)):
            if theirs.get(key) != first.get(key):
                raise InputError(f"rank {rank}", f"{key} is {theirs.get(key)!r} but rank 0 has {first.get(key)!r}; "
                                                 "every rank must run the same command on the same scene")
    return [w for _, w in gathered]
