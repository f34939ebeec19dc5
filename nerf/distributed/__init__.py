"""Data-parallel training over torch.distributed: one process per device, started by torchrun.

group: the process group from torchrun's environment; collectives: the gradient all-reduce, the
occupancy refresh split across ranks, frames gathered to rank 0, the per-step agreement on stopping
and on time; agreement: every rank runs the same flags on the same scene, or all refuse. See
docs/distributed.md for the design and its arithmetic.
"""
