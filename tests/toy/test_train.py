import math

import pytest
import torch

from toy.images import generated_image
from toy.model import ModelConfig
from toy.train import FitConfig, ToyTrainer, pixel_coords, psnr, split_pixels


def test_pixel_coords_are_centres():
    xy = pixel_coords(2, 4)
    assert xy.shape == (8, 2)
    assert torch.allclose(xy[0], torch.tensor([-0.75, -0.5])) and torch.allclose(xy[-1], torch.tensor([0.75, 0.5]))


def test_psnr():
    assert psnr(0.01) == pytest.approx(20.0) and math.isinf(psnr(0.0))


@pytest.mark.parametrize("fraction", [1.0, 0.5, 0.1])
def test_random_split_is_a_partition(fraction):
    train, held = split_pixels(20, 10, fraction, "random", torch.Generator().manual_seed(0))
    assert train.numel() == round(fraction * 200)
    assert torch.equal(torch.sort(torch.cat([train, held])).values, torch.arange(200))


def test_grid2_split_is_the_even_index_grid():
    train, held = split_pixels(4, 4, 1.0, "grid2", torch.Generator())
    assert train.tolist() == [0, 2, 8, 10] and held.numel() == 12


def test_held_out_reported_as_train_at_full_fraction(tiny_image):
    trainer = ToyTrainer(tiny_image, ModelConfig(hidden=(8,)), FitConfig(fraction=1.0))
    assert trainer.evaluate()["heldout_psnr"] is None


def test_short_fit_raises_held_out_psnr(tiny_image):
    trainer = ToyTrainer(tiny_image, ModelConfig(encoding="sin", frequencies=4, hidden=(32, 32), output="none"),
                         FitConfig(lr=1e-2, fraction=0.5, seed=0))
    before = trainer.evaluate()
    for _ in range(120):
        trainer.step()
    after = trainer.evaluate()
    assert after["heldout_psnr"] > before["heldout_psnr"] + 5.0
    assert after["train_psnr"] > 15.0


def test_mini_batch_steps_are_seeded(tiny_image):
    cfg = FitConfig(batch=50, seed=4)
    a, b = (ToyTrainer(tiny_image, ModelConfig(hidden=(8,)), cfg) for _ in range(2))
    assert [a.step()["loss"] for _ in range(3)] == [b.step()["loss"] for _ in range(3)]


def _final(output: str, seed: int) -> tuple[float, list[bool]]:
    image = generated_image(32)
    trainer = ToyTrainer(image, ModelConfig(hidden=(24, 24, 24), activation="relu", output=output),
                         FitConfig(lr=1e-2, seed=seed))
    for _ in range(150):
        trainer.step()
    result = trainer.evaluate()
    dead = (result["recon"].reshape(-1, 3).max(dim=0).values <= 0).tolist()  # channel is 0 everywhere
    return result["train_psnr"], dead


@pytest.mark.parametrize("seed", [2, 3, 4])
def test_relu_output_saturates_where_leaky_relu_does_not(seed):
    """The study's finding: a ReLU after the output layer lets colour channels die (stuck at 0 for every
    pixel, so images come out tinted); LeakyReLU keeps a gradient and recovers. Fixed seeds, deterministic."""
    relu_psnr, relu_dead = _final("relu", seed)
    leaky_psnr, leaky_dead = _final("leaky", seed)
    assert any(relu_dead) and not any(leaky_dead)
    assert relu_psnr < leaky_psnr - 5.0
