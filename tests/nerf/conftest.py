"""Shared by the nerf tests: a small generated scene (the tiny ngp configuration is tests.support.scenes.TINY)."""
import pytest

from nerf.data.formats.registry import load_scene
from nerf.data.generated.synthetic import write_synthetic_scene


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    root = tmp_path_factory.mktemp("scene")
    write_synthetic_scene(root, n_train=10, n_test=2, size=32)
    return load_scene(root)
