"""Check the loaders against the real reference scenes in /work/shared/datasets (not a test).

    python bench/check_real_scenes.py [--root /work/shared/datasets] [--out /tmp]

For each scene: counts, resolutions and intrinsics against the values the dataset documents; for
object scenes, the distance from the scene centre (the origin after normalisation) to the ray
through each camera's principal point, in units of the scene bound; and a contact sheet of 6 views
with the projected scene centre drawn as a red cross, written to <out>/contact_<scene>.png.
"""
from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from nerf.data.cameras import image_rays, pixel_rays, project, to_ndc
from nerf.data.formats.registry import load_scene
from nerf.data.scene import Scene


def principal_ray_distances(scene: Scene, point=(0.0, 0.0, 0.0)) -> np.ndarray:
    """Distance from `point` to the ray through each camera's principal point (all splits): [N]."""
    out = []
    for split in scene.splits.values():
        cams = split.cameras
        idx = torch.arange(len(cams))
        o, d = pixel_rays(cams, idx, cams.cx.clone(), cams.cy.clone())
        v = torch.tensor(point) - o
        along = (v * d).sum(-1, keepdim=True)
        out.append((v - along * d).norm(dim=-1).numpy())
    return np.concatenate(out)


def contact_sheet(scene: Scene, split: str, point, path: Path, views: int = 6, min_width: int = 240) -> None:
    """`views` evenly spaced images of a split, the projection of `point` marked with a red cross."""
    s = scene.split(split)
    picks = np.linspace(0, len(s) - 1, views).round().astype(int)
    rgb = s.rgb(1.0)[picks].clone()  # [views, H, W, 3] on white
    px, py, depth = project(s.cameras, torch.tensor(picks), torch.tensor([point] * views, dtype=torch.float32))
    h, w = rgb.shape[1:3]
    arm = max(2, w // 20)
    thick = max(0, w // 200)  # cross arm half-thickness, so it survives shrinking
    for k in range(views):
        if depth[k] <= 0:
            continue
        x, y = int(px[k]), int(py[k])
        xs = slice(max(0, x - arm), max(0, min(w, x + arm + 1)))
        ys = slice(max(0, y - arm), max(0, min(h, y + arm + 1)))
        if 0 <= y < h:
            rgb[k, max(0, y - thick):y + thick + 1, xs] = torch.tensor([1.0, 0.0, 0.0])
        if 0 <= x < w:
            rgb[k, ys, max(0, x - thick):x + thick + 1] = torch.tensor([1.0, 0.0, 0.0])
    sheet = torch.cat(list(rgb), dim=1)  # side by side: [H, views * W, 3]
    img = Image.fromarray((sheet.clamp(0, 1) * 255).round().byte().numpy())
    if w < min_width:
        zoom = math.ceil(min_width / w)
        img = img.resize((img.width * zoom, img.height * zoom), Image.NEAREST)
    elif w > 2 * min_width:
        shrink = w // min_width
        img = img.resize((img.width // shrink, img.height // shrink), Image.BOX)
    img.save(path)


def _stats(d: np.ndarray) -> str:
    return f"min {d.min():.3g}  median {np.median(d):.3g}  max {d.max():.3g}  (n={len(d)})"


def check_lego(root: Path, out: Path) -> None:
    t = time.perf_counter()
    scene = load_scene(root / "nerf_synthetic/lego", downscale=8)
    print(f"lego: loaded at downscale 8 in {time.perf_counter() - t:.1f} s")
    assert scene.format == "blender" and set(scene.splits) == {"train", "test"}
    assert len(scene.split("train")) == 100 and len(scene.split("test")) == 200
    cams = scene.split("train").cameras
    assert (cams.width, cams.height) == (100, 100)
    fx_full = 0.5 * 800 / math.tan(0.5 * 0.6911112070083618)
    assert abs(fx_full - 1111.11) < 0.01 and torch.allclose(cams.fx, torch.tensor(fx_full / 8))
    assert scene.split("train").has_alpha and scene.bound == 1.0
    print(f"lego: fx = {cams.fx[0].item() * 8:.2f} at full res, radius scale {scene.scale:.4f} "
          f"file units per unit, centre {np.round(scene.offset, 5)}")
    d = principal_ray_distances(scene) / scene.bound
    print(f"lego: centre-to-principal-ray distance / bound: {_stats(d)}")
    assert d.max() < 0.1
    contact_sheet(scene, "test", (0.0, 0.0, 0.0), out / "contact_lego.png")


def check_fern(root: Path, out: Path) -> None:
    t = time.perf_counter()
    scene = load_scene(root / "nerf_llff_data/fern", llff_factor=4)
    print(f"fern: loaded images_4 in {time.perf_counter() - t:.1f} s")
    assert scene.format == "llff" and scene.ndc and scene.bound == 1.0 and scene.near == 1.0
    test, train = scene.split("test"), scene.split("train")
    assert len(train) == 17 and len(test) == 3
    assert [Path(f).name for f in test.files] == ["image000.png", "image008.png", "image016.png"]
    assert (test.cameras.width, test.cameras.height) == (1008, 756)
    raw = np.load(root / "nerf_llff_data/fern/poses_bounds.npy")
    f_expected = raw[0, 14] / 4
    assert torch.allclose(train.cameras.fx, torch.tensor(f_expected, dtype=torch.float32), rtol=1e-5)
    print(f"fern: fx = {train.cameras.fx[0].item():.2f} (= {raw[0, 14]:.2f} / 4), far = {scene.far:.3f}, "
          f"scale {scene.scale:.4f}")
    c2w = torch.cat([train.cameras.c2w, test.cameras.c2w])
    fwd = -c2w[:, :3, 2]
    print(f"fern: camera spread {c2w[:, :3, 3].norm(dim=-1).max().item():.4f}, "
          f"min forward.z {(-fwd[:, 2]).min().item():.4f} (1 = looking straight down -z)")
    assert (fwd[:, 2] < -0.9).all()
    # NDC origins of every pixel's ray (at 1/4 resolution) for every view: z = -1 exactly; x, y fill
    # about [-1, 1] for the average camera and spill a little beyond it for cameras off the average
    xy_max, centre_max, outside, total = 0.0, 0.0, 0, 0
    for split in (train, test):
        cams = split.cameras
        for i in range(len(cams)):
            o, d = image_rays(cams, i, downscale=4)
            o_ndc, _ = to_ndc(o.reshape(-1, 3), d.reshape(-1, 3), cams.fx[i].item(), cams.fy[i].item(),
                              cams.width, cams.height, near=scene.near)
            assert torch.allclose(o_ndc[:, 2], torch.tensor(-1.0), atol=1e-5)
            xy_max = max(xy_max, o_ndc[:, :2].abs().max().item())
            outside += (o_ndc[:, :2].abs() > 1).any(-1).sum().item()
            total += o_ndc.shape[0]
            oc, dc = pixel_rays(cams, torch.tensor([i]), cams.cx[i:i + 1].clone(), cams.cy[i:i + 1].clone())
            centre = to_ndc(oc, dc, cams.fx[i].item(), cams.fy[i].item(), cams.width, cams.height)[0]
            centre_max = max(centre_max, centre[0, :2].abs().max().item())
    print(f"fern: NDC ray origins: max |x|,|y| over all pixels {xy_max:.3f}, "
          f"over principal points {centre_max:.3f}; {100 * outside / total:.1f}% of rays start outside")
    assert centre_max < 0.5 and xy_max < 1.5
    contact_sheet(scene, "train", (0.0, 0.0, -2.0), out / "contact_fern.png")


def check_fox(root: Path, out: Path) -> None:
    t = time.perf_counter()
    scene = load_scene(root / "instant_ngp_fox/fox", downscale=8)
    print(f"fox: loaded at downscale 8 in {time.perf_counter() - t:.1f} s")
    assert scene.format == "transforms" and scene.bound == 4.0
    test, train = scene.split("test"), scene.split("train")
    assert len(test) + len(train) == 67 and len(test) == 9
    assert [Path(f).name for f in test.files][:3] == ["0001.jpg", "0009.jpg", "0022.jpg"]  # file order
    cams = train.cameras
    assert (cams.width, cams.height) == (135, 240)
    assert torch.allclose(cams.fx * 8, torch.tensor(1375.52)) and torch.allclose(cams.fy * 8, torch.tensor(1374.49))
    assert torch.allclose(cams.cx * 8, torch.tensor(554.558)) and torch.allclose(cams.cy * 8, torch.tensor(965.268))
    assert cams.distortion is not None
    print(f"fox: fx {cams.fx[0].item() * 8:.2f}, distortion {cams.distortion[0].numpy().round(6).tolist()}, "
          f"scale {scene.scale:.4f}, centre {np.round(scene.offset, 4).tolist()}")
    d = principal_ray_distances(scene)
    print(f"fox: centre-to-principal-ray distance (normalised units): {_stats(d)}")
    print(f"fox: ... / bound ({scene.bound:g}): {_stats(d / scene.bound)}")
    assert d.max() / scene.bound < 0.25  # handheld capture: axes only roughly meet
    contact_sheet(scene, "train", (0.0, 0.0, 0.0), out / "contact_fox.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("/work/shared/datasets"))
    parser.add_argument("--out", type=Path, default=Path("/tmp"))
    parser.add_argument("--only", choices=("lego", "fern", "fox"), default=None)
    args = parser.parse_args()
    torch.set_num_threads(2)
    checks = {"lego": check_lego, "fern": check_fern, "fox": check_fox}
    for name, check in checks.items():
        if args.only in (None, name):
            check(args.root, args.out)
    print("all checks passed")


if __name__ == "__main__":
    main()
