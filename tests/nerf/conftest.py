"""Shared by the nerf tests: a small generated scene and a tiny ngp configuration."""
import pytest

from nerf.loaders import load_scene
from nerf.synthetic import write_synthetic_scene

# a small, fast ngp field for tests that train it for a few dozen steps
TINY = dict(batch_rays=256, ngp_levels=8, ngp_log2_table=12, ngp_max_res=64, ngp_grid_res=16,
            ngp_march_steps=96, ngp_grid_warmup=64, lr_decay_steps=10_000)


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    root = tmp_path_factory.mktemp("scene")
    write_synthetic_scene(root, n_train=10, n_test=2, size=32)
    return load_scene(root)
