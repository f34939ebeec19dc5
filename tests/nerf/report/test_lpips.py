"""nerf/report/lpips.py: LPIPS from torchvision-format AlexNet weights and lpips-format heads, built
here without torchvision; the files are generated (random weights), nothing is downloaded."""
from __future__ import annotations

import pytest
import torch

from nerf.errors import InputError
from nerf.report.lpips import CHANNELS, MIN_SIDE, Lpips, alexnet_features, find_lpips_files, open_lpips


def write_random_lpips(folder, seed: int = 0):
    """A torchvision-layout AlexNet file (features.* plus a classifier entry it must ignore) and an
    lpips-layout heads file (lin<i>.model.1.weight, non-negative as lpips trains them)."""
    torch.manual_seed(seed)
    state = {f"features.{k}": v for k, v in alexnet_features().state_dict().items()}
    state["classifier.1.weight"] = torch.zeros(4, 9216)
    backbone, heads = folder / "alexnet-random.pth", folder / "heads-random.pth"
    torch.save(state, backbone)
    torch.save({f"lin{i}.model.1.weight": torch.rand(1, c, 1, 1) for i, c in enumerate(CHANNELS)}, heads)
    return backbone, heads


def test_identical_images_are_zero_apart_and_the_distance_is_symmetric(tmp_path):
    metric = Lpips(*write_random_lpips(tmp_path))
    g = torch.Generator().manual_seed(1)
    a = torch.rand(40, 48, 3, generator=g)
    b = (a + 0.2 * torch.randn(40, 48, 3, generator=g)).clamp(0, 1)
    assert metric(a, a) == pytest.approx(0.0, abs=1e-9)
    assert metric(a, b) > 1e-4
    assert metric(a, b) == pytest.approx(metric(b, a), rel=1e-5)


def test_the_distance_sums_the_heads_over_the_five_layers(tmp_path):
    """Zero heads give zero however different the images are; doubling every head doubles it."""
    backbone, heads = write_random_lpips(tmp_path)
    a, b = torch.zeros(MIN_SIDE, MIN_SIDE, 3), torch.ones(MIN_SIDE, MIN_SIDE, 3)
    base = Lpips(backbone, heads)(a, b)
    state = torch.load(heads)
    torch.save({k: 2 * v for k, v in state.items()}, tmp_path / "double.pth")
    torch.save({k: 0 * v for k, v in state.items()}, tmp_path / "zero.pth")
    assert Lpips(backbone, tmp_path / "double.pth")(a, b) == pytest.approx(2 * base, rel=1e-5)
    assert Lpips(backbone, tmp_path / "zero.pth")(a, b) == 0.0


def test_foreign_files_are_one_input_error(tmp_path):
    backbone, heads = write_random_lpips(tmp_path)
    junk = tmp_path / "junk.pth"
    junk.write_text("not torch")
    with pytest.raises(InputError, match="not a torch weights file"):
        Lpips(junk, heads)
    with pytest.raises(InputError, match="not torchvision AlexNet weights"):
        Lpips(heads, heads)
    with pytest.raises(InputError, match="not LPIPS AlexNet heads"):
        Lpips(backbone, backbone)
    with pytest.raises(InputError, match="--lpips-weights: no such file"):
        find_lpips_files(tmp_path / "absent.pth", heads)


def test_without_weights_on_disk_lpips_is_skipped_with_the_reason(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-torch-home"))  # torch.hub's cache: nothing there
    metric, note = open_lpips(None, None, torch.device("cpu"))
    assert metric is None
    assert note.startswith("skipped: no weights") and "alexnet-owt-7be5be79.pth" in note
