import numpy as np
import pytest
import torch

from toy.images import generated_image


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny tensors: one thread is faster and avoids OpenMP spinning on the shared 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def tiny_image() -> np.ndarray:
    return generated_image(24)  # [24, 24, 3]
