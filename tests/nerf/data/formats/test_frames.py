"""nerf/data/formats/frames.py: nerfstudio's images_N/ copies read for --downscale N, and only when
every view has one of the right size."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from nerf.data.formats.registry import load_scene
from tests.support.scenes import H, W, png, transforms_scene


def write_copies(root, k, size=(W // 2, H // 2), skip=()):
    """images_k/ copies that differ from the full images (noise of another seed): whichever the
    loader decoded shows in the pixels."""
    for i in range(10):
        if i not in skip:
            png(root / f"images_{k}" / f"{i:04d}.png", mode="RGB", size=size, seed=100 + i)


def test_downscale_reads_the_matching_images_folder(tmp_path):
    transforms_scene(tmp_path)
    write_copies(tmp_path, 2)
    half = load_scene(tmp_path, downscale=2).split("train")
    with Image.open(tmp_path / "images_2" / "0001.png") as im:
        expected = torch.from_numpy(np.asarray(im, dtype=np.float32) / 255.0)
    assert torch.equal(half.images[0], expected)  # train view 0 is file 0001 (0000 is held out)
    assert half.files[0].endswith("images/0001.png")  # the view keeps its own name
    assert (half.cameras.width, half.cameras.height) == (W // 2, H // 2)
    full = load_scene(tmp_path).split("train")
    assert torch.allclose(half.cameras.fx, full.cameras.fx / 2)


@pytest.mark.parametrize("break_copies", ["one missing", "wrong size", "other factor"])
def test_without_a_full_set_of_copies_the_full_images_are_decoded(tmp_path, break_copies):
    transforms_scene(tmp_path)
    reference = load_scene(tmp_path, downscale=2).split("train").images  # no copies: a 1/2 decode
    if break_copies == "one missing":
        write_copies(tmp_path, 2, skip={7})
    elif break_copies == "wrong size":
        write_copies(tmp_path, 2, size=(W // 2 + 1, H // 2))  # rounded up, not W // 2
    else:
        write_copies(tmp_path, 4, size=(W // 4, H // 4))
    assert torch.equal(load_scene(tmp_path, downscale=2).split("train").images, reference)


def test_full_resolution_never_reads_copies(tmp_path):
    transforms_scene(tmp_path)
    before = load_scene(tmp_path).split("train").images
    write_copies(tmp_path, 2)
    shutil.copytree(tmp_path / "images_2", tmp_path / "images_1")
    assert torch.equal(load_scene(tmp_path).split("train").images, before)
