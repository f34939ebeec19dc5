"""nerf/data/formats/masks.py and nerfstudio's mask_path: zero pixels never supervise, a downscaled
pixel only when all of its pixels may, and masks that cannot be used are one line."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from nerf.data.formats.registry import load_scene
from nerf.errors import InputError
from tests.support.scenes import H, W, transforms_scene


def with_masks(root, masks: dict[int, np.ndarray]):
    """Add mask_path to the frames numbered in `masks` (uint8 [H, W], 0 = masked) of a transforms_scene."""
    meta = json.loads((root / "transforms.json").read_text())
    (root / "masks").mkdir(exist_ok=True)
    for i, mask in masks.items():
        Image.fromarray(mask, "L").save(root / "masks" / f"{i:04d}.png")
        meta["frames"][i]["mask_path"] = f"masks/{i:04d}.png"
    (root / "transforms.json").write_text(json.dumps(meta))
    return root


def test_zero_pixels_are_masked_and_views_without_a_mask_keep_all(tmp_path):
    left_out = np.full((H, W), 255, np.uint8)
    left_out[:, :3] = 0
    grey = np.full((H, W), 7, np.uint8)  # any value above zero keeps the pixel, as in nerfstudio
    with_masks(transforms_scene(tmp_path), {1: left_out, 2: grey})
    train = load_scene(tmp_path).split("train")  # views 1..7 and 9 (0 and 8 are held out)
    assert train.masks.shape == (8, H, W) and train.masks.dtype == torch.bool
    assert not train.masks[0, :, :3].any() and train.masks[0, :, 3:].all()
    assert train.masks[1].all() and train.masks[2:].all()
    assert load_scene(tmp_path).split("test").masks is None  # no test view has a mask


def test_a_downscaled_pixel_is_kept_only_when_all_its_pixels_are(tmp_path):
    mask = np.full((H, W), 255, np.uint8)
    mask[0, 0] = 0  # one pixel of the top-left 2x2 block
    with_masks(transforms_scene(tmp_path), {1: mask})
    half = load_scene(tmp_path, downscale=2).split("train").masks[0]  # [H / 2, W / 2]
    expected = torch.ones(H // 2, W // 2, dtype=torch.bool)
    expected[0, 0] = False
    assert torch.equal(half, expected)


def test_masks_that_cannot_be_used_are_one_line(tmp_path):
    with_masks(transforms_scene(tmp_path / "size"), {1: np.full((H + 1, W), 255, np.uint8)})
    with pytest.raises(InputError, match=f"mask is {W}x{H + 1} but its image is {W}x{H}"):
        load_scene(tmp_path / "size")
    empty = {i: np.zeros((H, W), np.uint8) for i in range(10)}
    with_masks(transforms_scene(tmp_path / "empty"), empty)
    with pytest.raises(InputError, match="exclude every pixel"):
        load_scene(tmp_path / "empty")
    scene = transforms_scene(tmp_path / "missing")
    meta = json.loads((scene / "transforms.json").read_text())
    meta["frames"][1]["mask_path"] = "masks/none.png"
    (scene / "transforms.json").write_text(json.dumps(meta))
    with pytest.raises(InputError, match="none.png"):
        load_scene(scene)


def test_training_draws_rays_only_where_the_masks_allow(tmp_path):
    from nerf.train.config import TrainConfig
    from nerf.train.trainer import Trainer
    keep_one_column = np.zeros((H, W), np.uint8)
    keep_one_column[:, 5] = 255
    with_masks(transforms_scene(tmp_path), {i: keep_one_column for i in range(10)})
    trainer = Trainer(load_scene(tmp_path), TrainConfig(), "cpu")
    train = trainer.scene.split("train")
    _, rays_d, target, _ = trainer.sample_batch(256)
    # each target is a pixel of column 5 of some training image, never one of the masked columns
    column = train.images[:, :, 5].reshape(-1, 3)  # [views * H, 3]
    assert all((column == t).all(dim=1).any() for t in target)
    others = train.images[:, :, [0, 1, 2, 3, 4, 6, 7]].reshape(-1, 3)
    assert not any((others == t).all(dim=1).any() for t in target)
