"""`nerf-train SCENE --inspect [--json]`: what a scene folder holds, before any training.

The memory estimate comes from image headers, before anything is decoded, so a user learns that a
scene will not fit (and which --downscale would) without waiting for it to fail.
"""
from __future__ import annotations

import json
import math
import os
import sys
import time

from nerf.commands.cli import fail
from nerf.data.formats.registry import estimate_scene_memory, load_scene
from nerf.data.scene import Scene
from nerf.errors import InputError
from nerf.files import check_writable
from nerf.report.camera_plot import write_scene_layout

RAM_WARN_FRACTION = 0.5


def total_ram_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not every platform has these
        return None


def _human(nbytes: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if nbytes < 1024 or unit == "GiB":
            return f"{nbytes:.1f} {unit}" if unit != "B" else f"{int(nbytes)} B"
        nbytes /= 1024
    return f"{nbytes:.1f} GiB"


def scene_summary(scene: Scene) -> dict:
    """JSON-ready facts about a loaded scene."""
    splits = {}
    for name, split in scene.splits.items():
        cams = split.cameras
        splits[name] = {
            "count": len(split), "width": cams.width, "height": cams.height,
            "channels": int(split.images.shape[-1]),
            "fx": round(float(cams.fx[0]), 4), "fy": round(float(cams.fy[0]), 4),
            "cx": round(float(cams.cx[0]), 4), "cy": round(float(cams.cy[0]), 4),
            "distortion": None if cams.distortion is None else [round(float(v), 8) for v in cams.distortion[0]],
            "camera_type": cams.camera_type,
        }
    return {
        "scene": str(scene.root), "name": scene.name, "format": scene.format, "splits": splits,
        "bound": scene.bound, "near": scene.near,
        "far": scene.far if math.isfinite(scene.far) else None, "ndc": scene.ndc,
        "scale": scene.scale, "offset": list(scene.offset),
        "scene_type": scene.scene_type, "scene_type_reason": scene.scene_type_reason,
    }


def _print_text(info: dict) -> None:
    ndc = "yes (forward-facing: rays mapped to NDC)" if info["ndc"] else "no"
    print(f"scene:    {info['scene']}")
    print(f"format:   {info['format']}")
    print(f"{'split':<8}{'images':>7}  {'resolution':>11}  {'fx':>9}  {'fy':>9}  {'channels':>8}  distortion")
    for name, s in info["splits"].items():
        dist = "no" if s["distortion"] is None else \
            "k1,k2,k3,k4,p1,p2 = " + ", ".join(f"{v:.4g}" for v in s["distortion"])
        dist = dist if s["camera_type"] == "perspective" else f"{s['camera_type']}, {dist}"
        print(f"{name:<8}{s['count']:>7}  {str(s['width']) + 'x' + str(s['height']):>11}  {s['fx']:>9.2f}"
              f"  {s['fy']:>9.2f}  {'RGBA' if s['channels'] == 4 else 'RGB':>8}  {dist}")
    far = "inf" if info["far"] is None else f"{info['far']:.3g}"
    print(f"type:     {info['scene_type']} ({info['scene_type_reason']})")
    if info["scene_type"] == "unbounded":
        print(f"bound:    {info['bound']:.3g} (full detail in [-bound, bound]^3, space beyond contracted)")
    else:
        print(f"bound:    {info['bound']:g} (content in [-bound, bound]^3)")
    print(f"near/far: {info['near']:.3g} / {far}    ndc: {ndc}")
    print(f"file units per normalised unit: {info['scale']:.4g}, centre in file units: "
          f"({', '.join(f'{v:.4g}' for v in info['offset'])})")
    ram = info["ram_bytes"]
    share = f" ({100.0 * info['memory_bytes'] / ram:.1f}% of {_human(ram)} RAM)" if ram else ""
    print(f"memory:   {_human(info['memory_bytes'])} of float32 images{share}")
    print(f"loaded in {info['load_seconds']:.2f} s")


def run_inspect(args) -> int:
    """Entry for `nerf-train --inspect`; args has .scene, .downscale, .llff_factor, .json and .plot
    (a PNG to draw the cameras in, or None)."""
    path = args.scene
    downscale, llff_factor = args.downscale or 1, args.llff_factor or 4
    if path is None:
        from assets import default_scene_path
        path = default_scene_path()
    try:
        if args.plot is not None:
            check_writable(args.plot)  # before a load that may take minutes
        estimate = estimate_scene_memory(path, downscale, llff_factor)
        ram = total_ram_bytes()
        if ram and estimate["bytes"] > RAM_WARN_FRACTION * ram:
            print(f"nerf-train: warning: the images need {_human(estimate['bytes'])} as float32, more "
                  f"than half of the {_human(ram)} RAM; try --downscale {2 * downscale}",
                  file=sys.stderr)
        start = time.perf_counter()
        scene = load_scene(path, downscale=downscale, llff_factor=llff_factor,
                           scene_type=args.scene_type)
        seconds = time.perf_counter() - start
    except InputError as exc:
        return fail("nerf-train", str(exc))
    info = scene_summary(scene)
    info.update(memory_bytes=estimate["bytes"], ram_bytes=ram, load_seconds=round(seconds, 3),
                downscale=downscale)
    if args.json:
        print(json.dumps(info))
    else:
        _print_text(info)
    if args.plot is not None:
        print(f"nerf-train: cameras drawn in {write_scene_layout(scene, args.plot)}", file=sys.stderr)
    return 0
