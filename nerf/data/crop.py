"""An axis-aligned crop box: the part of the world that renders and exports keep.

Stored in the scene's normalised world (nerf.data.scene); `to_file` / `from_file` map it to the
scene file's coordinates for path files (p_file = p * scale + offset).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from nerf.errors import InputError


@dataclass(frozen=True)
class CropBox:
    lo: tuple[float, float, float]  # minimum corner, normalised world
    hi: tuple[float, float, float]  # maximum corner

    @classmethod
    def cube(cls, bound: float) -> "CropBox":
        return cls((-bound,) * 3, (bound,) * 3)

    @classmethod
    def parse(cls, text: str) -> "CropBox":
        """'x0,y0,z0,x1,y1,z1' (normalised world, as the viewer's sliders show it)."""
        try:
            v = [float(x) for x in text.split(",")]
        except ValueError:
            v = []
        if len(v) != 6 or not all(np.isfinite(v)) or not all(a < b for a, b in zip(v[:3], v[3:], strict=True)):
            raise InputError("--crop", f"expected x0,y0,z0,x1,y1,z1 with x0<x1, y0<y1, z0<z1, got '{text}'")
        return cls(tuple(v[:3]), tuple(v[3:]))

    @property
    def centre(self) -> np.ndarray:
        return (np.asarray(self.lo) + np.asarray(self.hi)) / 2.0

    @property
    def size(self) -> np.ndarray:
        return np.asarray(self.hi) - np.asarray(self.lo)

    def contains(self, pts: torch.Tensor) -> torch.Tensor:
        """[..., 3] points -> [...] bool."""
        lo = torch.as_tensor(self.lo, dtype=pts.dtype, device=pts.device)
        hi = torch.as_tensor(self.hi, dtype=pts.dtype, device=pts.device)
        return ((pts >= lo) & (pts <= hi)).all(dim=-1)

    def intersect(self, other: "CropBox") -> "CropBox":
        lo = np.maximum(self.lo, other.lo)
        hi = np.minimum(self.hi, other.hi)
        return CropBox(tuple(float(x) for x in lo), tuple(float(x) for x in np.maximum(lo, hi)))

    def to_file(self, scale: float, offset) -> dict:
        """nerfstudio's `crop` entry in file coordinates (crop_scale is the full size)."""
        return {"crop_center": (self.centre * scale + np.asarray(offset)).tolist(),
                "crop_scale": (self.size * scale).tolist(), "crop_rot": [0.0, 0.0, 0.0],
                "crop_bg_color": {"r": 0, "g": 0, "b": 0}}

    @classmethod
    def from_file(cls, d: dict, scale: float, offset, file) -> "CropBox":
        try:
            centre = np.asarray(d["crop_center"], np.float64)
            size = np.asarray(d["crop_scale"], np.float64)
            rot = np.asarray(d.get("crop_rot", [0.0, 0.0, 0.0]), np.float64)
        except (KeyError, TypeError, ValueError):
            raise InputError(file, "'crop' needs crop_center and crop_scale, three numbers each") from None
        if centre.shape != (3,) or size.shape != (3,) or not (np.all(np.isfinite(centre)) and np.all(size > 0)):
            raise InputError(file, "'crop' needs a finite crop_center and a positive crop_scale")
        if np.any(np.abs(rot) > 1e-6):
            raise InputError(file, "rotated crop boxes are not supported (crop_rot must be 0, 0, 0)")
        c = (centre - np.asarray(offset)) / scale
        h = size / scale / 2.0
        return cls(tuple(float(x) for x in c - h), tuple(float(x) for x in c + h))
