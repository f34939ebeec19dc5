"""The generated captures by name, with their default size: what `python -m nerf.commands.generate`
offers beside the default scene, and what the scene suite (bench/scene_suite.py) trains on."""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable

from nerf.data.generated.backdrop import write_backdrop_scene
from nerf.data.generated.orbits import CAPTURES, write_orbit_capture
from nerf.data.generated.room import write_room_scene
from nerf.data.generated.unbounded import write_unbounded_scene

# (out_dir, n_frames, width, height, seed, supersample) -> the folder written
Writer = Callable[[str | Path, int, int, int, int, int], Path]


@dataclass(frozen=True)
class Generated:
    help: str
    write: Writer
    n_frames: int
    width: int = 128
    height: int = 96
    supersample: int = 2


GENERATED = {
    "unbounded": Generated("an outdoor capture: objects on a ground to the horizon, landmarks, sky (48 views)",
                           write_unbounded_scene, 48, 96, 72, 3),
    **{name: Generated(f"a 360-degree capture: {c.description}", partial(write_orbit_capture, name), c.n_frames)
       for name, c in CAPTURES.items()},
    "backdrop": Generated("objects on a plain white backdrop: RGB, OPENCV distortion, per-frame intrinsics, "
                          "aabb_scale 1 (40 views)", write_backdrop_scene, 40),
    "room": Generated("from inside a furnished room looking out at its walls and a window (60 views)",
                      write_room_scene, 60),
}
