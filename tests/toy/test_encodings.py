import math

import pytest
import torch

from toy.encodings import (AffineWarp, FrequencyEncoding, GaussianFourierEncoding, LearnedEmbedding, MLPWarp,
                           RawEncoding)
from toy.model import Sine


def test_raw_is_identity():
    xy = torch.tensor([[0.25, -0.5]])
    assert torch.equal(RawEncoding()(xy), xy)


def test_sin_encoding_values_at_known_points():
    enc = FrequencyEncoding(3, with_cos=False)
    assert enc.out_features == 6
    out = enc(torch.tensor([[0.5, 0.25]]))
    # x = 0.5: sin(pi/2) = 1, sin(pi) = 0, sin(2 pi) = 0; y = 0.25: sin(pi/4), sin(pi/2) = 1, sin(pi) = 0
    expected = torch.tensor([[1.0, 0.0, 0.0, math.sqrt(0.5), 1.0, 0.0]])
    assert torch.allclose(out, expected, atol=1e-6)


def test_sincos_encoding_shape_and_values():
    enc = FrequencyEncoding(10, with_cos=True)
    out = enc(torch.zeros(7, 2))
    assert out.shape == (7, 40)
    assert torch.allclose(out[:, :20], torch.zeros(7, 20)) and torch.allclose(out[:, 20:], torch.ones(7, 20))


def test_gaussian_features_seeded_and_shaped():
    a = GaussianFourierEncoding(16, 10.0, torch.Generator().manual_seed(3))
    b = GaussianFourierEncoding(16, 10.0, torch.Generator().manual_seed(3))
    xy = torch.rand(5, 2) * 2 - 1
    assert a(xy).shape == (5, 32) and torch.equal(a(xy), b(xy))
    assert 5.0 < float(a.B.std()) < 15.0  # scale follows sigma
    assert sum(p.numel() for p in a.parameters()) == 0  # B is fixed, not trained
    sin, cos = a(xy).chunk(2, dim=1)
    assert torch.allclose(sin ** 2 + cos ** 2, torch.ones(5, 16), atol=1e-5)


def test_learned_embedding_counts_and_shape():
    emb = LearnedEmbedding(20, Sine(), scale=30.0, sine=True)
    assert emb(torch.zeros(4, 2)).shape == (4, 20)
    assert sum(p.numel() for p in emb.parameters()) == 60
    assert float(emb.linear.weight.detach().abs().max()) > 1.0  # a Fourier basis, not the default tiny init


@pytest.mark.parametrize("warp", [AffineWarp(), MLPWarp(16)])
def test_warps_are_identity_at_init_but_trainable(warp):
    xy = torch.rand(50, 2) * 2 - 1
    assert torch.allclose(warp(xy), xy, atol=1e-7)
    loss = (warp(xy) - (xy * 0.5 + 0.1)).square().mean()
    loss.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in warp.parameters())


def test_log_linear_frequencies_follow_tancik():
    enc = FrequencyEncoding(4, with_cos=True, sigma=16.0)
    # sigma^(j/m) for j = 0..3, m = 4: 1, 2, 4, 8 cycles per image (pi per unit of the [-1, 1] range)
    assert torch.allclose(enc.freqs, math.pi * torch.tensor([1.0, 2.0, 4.0, 8.0]))
    assert enc.out_features == 16
