"""Marching with steps that grow with distance (instant-NGP's cone-proportional steps, Mueller et al.
2022, appendix E.1), through an occupancy grid that may live in contracted space.

A pixel's footprint grows linearly with distance, so a step of `cone_angle * t` keeps the number of
samples per footprint constant: fine steps near the cameras, long ones far away. `min_step` keeps the
region of full detail sampled as finely as a bounded scene would be; `max_step` bounds the length
of any one interval. All rays of a batch start at the same near plane, so the step edges are one
1-D sequence shared by every ray; only the per-ray jitter differs.

nerf.volume.steps.EdgeSteps walks these edges for the occupied marcher (nerf.volume.occupied_march).
"""
from __future__ import annotations

import functools
import math

import torch



@functools.lru_cache(maxsize=16)
def _edges(near: float, far: float, cone_angle: float, min_step: float, max_step: float) -> tuple:
    edges = [near]
    while edges[-1] < far:
        t = edges[-1]
        edges.append(t + min(max(cone_angle * t, min_step), max_step))
    edges[-1] = far  # the last interval ends at the far cap
    return tuple(edges)


def cone_step_edges(near: float, far: float, cone_angle: float, min_step: float, max_step: float
                    ) -> torch.Tensor:
    """Interval edges [S + 1] (float64) from near to far: e_{k+1} = e_k + clamp(cone_angle e_k,
    min_step, max_step), the last edge clipped to far. cone_angle 0 gives equal steps of min_step."""
    if not (0.0 <= near < far and math.isfinite(far) and 0.0 < min_step <= max_step):
        raise ValueError(f"bad step schedule: near {near}, far {far}, steps {min_step}..{max_step}")
    return torch.tensor(_edges(float(near), float(far), float(cone_angle), float(min_step),
                               float(max_step)), dtype=torch.float64)


def steps_between(near: float, far: float, cone_angle: float, min_step: float, max_step: float) -> int:
    """How many intervals cone_step_edges makes: the dense marcher's samples per ray."""
    return len(_edges(float(near), float(far), float(cone_angle), float(min_step), float(max_step))) - 1
