"""Scene contraction (L-infinity, mip-NeRF 360 / nerfacto) and its inverse: hand values, round trips,
the shell's limits and the saturation distance."""
import math

import pytest
import torch

from nerf.volume.contraction import CONTRACTED_BOUND, contract, saturation_distance, uncontract


def test_identity_inside_the_region_up_to_its_scale():
    x = torch.tensor([[0.5, -1.0, 2.0], [-2.0, -2.0, -2.0], [0.0, 0.0, 0.0]])
    torch.testing.assert_close(contract(x, 2.0), x / 2.0)


def test_hand_computed_points_outside():
    # y = x / 2 = (2, 1, 0): |y|_inf = 2 -> (2 - 1/2) * y / 2 = (1.5, 0.75, 0)
    # y = (-4, 0, 4): |y|_inf = 4 -> (2 - 1/4) * y / 4 = (-1.75, 0, 1.75)
    x = torch.tensor([[4.0, 2.0, 0.0], [-8.0, 0.0, 8.0]])
    torch.testing.assert_close(contract(x, 2.0), torch.tensor([[1.5, 0.75, 0.0], [-1.75, 0.0, 1.75]]))


def test_everything_fits_in_the_shell_and_keeps_its_direction():
    x = torch.randn(2000, 3, dtype=torch.float64) * torch.logspace(-1, 6, 2000, dtype=torch.float64)[:, None]
    z = contract(x, 1.5)
    assert z.abs().max() < CONTRACTED_BOUND
    cos = torch.nn.functional.cosine_similarity(z, x, dim=-1)
    torch.testing.assert_close(cos, torch.ones_like(cos))


def test_norm_is_monotonic_along_a_ray():
    t = torch.linspace(0.0, 1e4, 5001, dtype=torch.float64)
    x = torch.tensor([0.3, -0.2, 0.1], dtype=torch.float64) + t[:, None] * torch.tensor([0.6, 0.64, -0.48],
                                                                                          dtype=torch.float64)
    m = contract(x, 1.0).abs().amax(dim=-1)
    assert torch.all(torch.diff(m) > 0)


@pytest.mark.parametrize("radius", [1.0, 2.7, 40.0])
def test_uncontract_inverts_contract(radius):
    x = torch.randn(4000, 3, dtype=torch.float64) * torch.logspace(-2, 4, 4000, dtype=torch.float64)[:, None]
    torch.testing.assert_close(uncontract(contract(x, radius), radius), x, rtol=1e-9, atol=1e-9)
    z = (torch.rand(4000, 3, dtype=torch.float64) * 2 - 1) * 1.999
    torch.testing.assert_close(contract(uncontract(z, radius), radius), z, rtol=1e-9, atol=1e-9)


def test_the_outer_face_is_infinitely_far():
    far = uncontract(torch.tensor([[2.0, 0.5, 0.0]]), 1.0)
    assert math.isinf(float(far[0, 0]))


def test_saturation_distance_is_where_the_last_cell_begins():
    # 64 cells across [-2, 2]: the last one begins at |z| = 2 - 4/64 = 1.9375, i.e. |y| = 16
    r = saturation_distance(3.0, 64)
    assert r == pytest.approx(48.0)
    z = contract(torch.tensor([[r, 0.0, 0.0]]), 3.0)
    assert float(z[0, 0]) == pytest.approx(2.0 - 4.0 / 64)
