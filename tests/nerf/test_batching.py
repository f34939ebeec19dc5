"""nerf/train/batching.py's pixel draw: with masks, only pixels a mask sets, each of them reachable,
from the same generator (reproducible); masks that set every pixel change nothing."""
from __future__ import annotations

import torch

from nerf.train.batching import draw_pixels

SHAPE = (3, 4, 5)  # images, rows, columns


def generator(seed=0):
    return torch.Generator().manual_seed(seed)


def test_only_set_pixels_are_drawn_and_every_one_of_them_is():
    masks = torch.zeros(SHAPE, dtype=torch.bool)
    masks[0, 1, 2] = masks[2, 3, 0] = masks[2, 3, 4] = True
    idx, py, px = draw_pixels(SHAPE, 3000, generator(), torch.device("cpu"), masks)
    drawn = set(zip(idx.tolist(), py.tolist(), px.tolist(), strict=True))
    assert drawn == {(0, 1, 2), (2, 3, 0), (2, 3, 4)}
    counts = torch.bincount(idx, minlength=3)  # uniform over the 3 pixels: ~1000 each
    assert counts[1] == 0 and 850 < counts[0] < 1150 and 1850 < counts[2] < 2150


def test_full_masks_draw_what_no_masks_draw_and_draws_repeat_from_the_seed():
    plain = draw_pixels(SHAPE, 64, generator(1), torch.device("cpu"))
    full = draw_pixels(SHAPE, 64, generator(1), torch.device("cpu"), torch.ones(SHAPE, dtype=torch.bool))
    assert all(torch.equal(a, b) for a, b in zip(plain, full, strict=True))
    masks = torch.rand(SHAPE, generator=generator(5)) > 0.7
    first = draw_pixels(SHAPE, 256, generator(2), torch.device("cpu"), masks)
    again = draw_pixels(SHAPE, 256, generator(2), torch.device("cpu"), masks)
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert masks[first].all()
