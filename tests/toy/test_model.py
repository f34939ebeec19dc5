import pytest
import torch

from toy.model import CoordMLP, ModelConfig


def _model(**kw) -> CoordMLP:
    return CoordMLP(ModelConfig(**kw), torch.Generator().manual_seed(0))


@pytest.mark.parametrize("config, layers, params", [
    # 2*64+64 + 2*(64*64+64) + 64*3+3 = 8,707
    (dict(encoding="raw", hidden=(64, 64, 64), activation="relu"), [2, 64, 64, 64, 3], 8707),
    # sin-only L=10 on x and y: 20 input features, no raw input
    (dict(encoding="sin", frequencies=10, hidden=(64, 64, 64)), [20, 64, 64, 64, 3], 9859),
    (dict(encoding="sin", frequencies=10, hidden=(24, 24, 24), activation="leaky"), [20, 24, 24, 24, 3], 1779),
    # + Linear(2 -> 20): 40 weights + 20 biases
    (dict(encoding="learned", embed_dim=20, hidden=(24, 24, 24)), [20, 24, 24, 24, 3], 1839),
])
def test_study_parameter_counts(config, layers, params):
    model = _model(**config)
    assert model.layers == layers
    assert model.n_params == params


def test_warp_and_gaussian_parameter_bookkeeping():
    assert _model(encoding="sin", warp="affine").n_params == 9859 + 6
    gauss = _model(encoding="gauss", gauss_features=8, hidden=(4,))
    assert gauss.layers == [16, 4, 3] and gauss.n_params == 16 * 4 + 4 + 4 * 3 + 3


@torch.no_grad()
def test_output_activations():
    xy = torch.rand(200, 2) * 2 - 1
    assert float(_model(output="relu")(xy).min()) >= 0.0
    sig = _model(output="sigmoid")(xy)
    assert float(sig.min()) > 0.0 and float(sig.max()) < 1.0


def test_siren_builds_and_is_seeded():
    a, b = _model(activation="sine"), _model(activation="sine")
    xy = torch.rand(10, 2)
    assert torch.equal(a(xy), b(xy))
    assert float(a.linears[1].weight.detach().abs().max()) <= (6 / 64) ** 0.5 / 30 + 1e-6


def test_bad_config_is_rejected():
    with pytest.raises(ValueError, match="encoding"):
        ModelConfig(encoding="fourier").validated()
    with pytest.raises(ValueError, match="hidden"):
        ModelConfig(hidden=()).validated()
