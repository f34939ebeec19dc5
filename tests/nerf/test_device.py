"""nerf/device.py: --device names -> torch devices, bad names -> one InputError."""
import pytest
import torch

from nerf.device import pick_device
from nerf.errors import InputError


def test_names_and_auto():
    assert pick_device("cpu") == torch.device("cpu")
    assert pick_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")


@pytest.mark.parametrize("name", ["gpu0", "cuda:x"])
def test_unknown_name_is_an_input_error(name):
    with pytest.raises(InputError) as info:
        pick_device(name)
    assert info.value.path == "--device" and name in info.value.problem


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_a_gpu_is_an_input_error():
    with pytest.raises(InputError, match="no CUDA device"):
        pick_device("cuda:0")
